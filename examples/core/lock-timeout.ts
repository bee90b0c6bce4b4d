// Seeds: safe_lock_example — a lock with a timeout against deadlock (its `async with wait_for(lock)` cannot
// run). spate: `using _ = await lock.acquire({ timeout })`; a waiter that gives up holds nothing.
import { gather, Lock, sleep, TimeoutError } from '../../src/core/index.ts';

const lock = new Lock();

async function taskWithLock(taskId: number): Promise<void> {
  console.log(`Task ${taskId} waiting for lock`);
  try {
    using _permit = await lock.acquire({ timeout: 300 });
    console.log(`Task ${taskId} acquired lock`);
    await sleep(200); // the work
    console.log(`Task ${taskId} releasing lock`);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log(`Task ${taskId} timed out waiting for lock`);
  }
}

// Task 0 holds the lock 0–0.2 s, task 1 0.2–0.4 s; task 2 gives up at 0.3 s.
await gather([0, 1, 2].map((id) => taskWithLock(id)));

// The deadlock itself: two tasks take two locks in opposite order. The one with a timeout backs
// off (its first lock is released by `using`), lets the other finish, and tries again.
const a = new Lock();
const b = new Lock();

async function transfer(): Promise<void> {
  using _a = await a.acquire();
  await sleep(50);
  using _b = await b.acquire();
  console.log('transfer: holds A and B, done');
}

async function audit(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      using _b = await b.acquire();
      await sleep(50);
      using _a = await a.acquire({ timeout: 150 });
      console.log(`audit: holds B and A, done on attempt ${attempt}`);
      return;
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      console.log(`audit: attempt ${attempt} timed out waiting for A, releasing B and backing off`);
      await sleep(100);
    }
  }
}

await gather([transfer(), audit()]);

// Seeds: asyncio.create_task — say_hello("Alice", 2) and ("Bob", 1), background_work, named tasks.
// spate's Task starts at once like asyncio's, and adds a state and its own AbortSignal to cancel it.
import { createTask, sleep, type TaskContext } from '../../src/core/index.ts';

async function sayHello(name: string, ms: number, { signal }: TaskContext): Promise<string> {
  await sleep(ms, { signal });
  console.log(`Hello, ${name}!`);
  return `${name} greeted`;
}

// Alice's task is created first, but Bob's delay is shorter, so Bob says hello first.
const alice = createTask((ctx) => sayHello('Alice', 200, ctx), { name: 'alice' });
const bob = createTask((ctx) => sayHello('Bob', 100, ctx), { name: 'bob' });
console.log(`Results: ${await alice}, ${await bob}`);

// Unlike asyncio, the task's function runs at once, up to its first await (as any async function
// does in JavaScript), so "Starting" comes before "Task created".
const background = createTask(async ({ signal }) => {
  console.log('Starting background work');
  await sleep(200, { signal });
  console.log('Background work completed');
});
console.log('Task created, doing other work');
await sleep(100);
console.log('Other work done');
await background;

// Cancelling: the task's signal aborts, its sleep rejects, and `finally` cleans up.
const download = createTask(async ({ signal }) => {
  try {
    await sleep(10_000, { signal });
  } finally {
    console.log(`download: stopped early (signal aborted: ${signal.aborted})`);
  }
}, { name: 'long-download' });
await sleep(50);
download.cancel();
await download.then(undefined, () => {});
console.log(`${download.name} is ${download.state}`);

// Seeds: fetch_with_timeout (asyncio.timeout), asyncio.wait_for. spate: timeout() throws, moveOnAfter() gives
// up quietly, waitFor() cancels a Task, timeoutAt() shares a deadline; each returns once the work stopped.
import { createTask, moveOnAfter, sleep, timeout, timeoutAt, TimeoutError, waitFor, getClock, type TaskContext } from '../../src/core/index.ts';

async function fetchData(ms: number, { signal }: TaskContext): Promise<string> {
  try {
    await sleep(ms, { signal });
    return 'data';
  } finally {
    if (signal.aborted) console.log('  fetch_data: aborted, connection closed');
  }
}

// 1. asyncio.timeout: the work gets a signal that aborts at the deadline.
try {
  await timeout(100, (ctx) => fetchData(1000, ctx));
} catch (error) {
  if (!(error instanceof TimeoutError)) throw error;
  console.log('Request timed out');
}
console.log(`fast enough: ${await timeout(300, (ctx) => fetchData(50, ctx))}`);

// 2. trio's move_on_after: undefined instead of an error.
const cached = await moveOnAfter(100, (ctx) => fetchData(1000, ctx));
console.log(cached === undefined ? 'cache too slow, skipping it' : `cache: ${cached}`);

// 3. asyncio.wait_for on a Task: at the deadline the task is cancelled and waited for.
const task = createTask((ctx) => fetchData(1000, ctx), { name: 'download' });
try {
  await waitFor(task, 100);
} catch (error) {
  console.log(`waitFor: ${(error as Error).name}; task ${task.name} is ${task.state}`);
}

// 4. One budget for several steps: each step gets what is left of it.
const deadline = getClock().now() + 250;
for (const step of [1, 2]) {
  try {
    await timeoutAt(deadline, (ctx) => fetchData(150, ctx));
    console.log(`step ${step} done`);
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log(`step ${step} timed out: the job as a whole had 0.25 s`);
  }
}

// Seeds: asyncio.gather — input order, failing_task beside successful_task, robust_task_execution with
// return_exceptions=True. spate's gather also cancels the siblings on a failure; asyncio leaves them running.
import { createTask, gather, sleep, type TaskContext } from '../../src/core/index.ts';

async function after<T>(ms: number, value: T, { signal }: TaskContext): Promise<T> {
  await sleep(ms, { signal });
  return value;
}

// 1. Results come back in input order, whatever order the work finishes in.
const [slow, fast, medium] = await gather([
  (ctx) => after(300, 'slow', ctx),
  (ctx) => after(100, 'fast', ctx),
  (ctx) => after(200, 'medium', ctx),
]);
console.log([slow, fast, medium]);

// 2. Without returnExceptions the first failure rejects gather at once and cancels the rest.
const failing = createTask(async ({ signal }) => {
  await sleep(100, { signal });
  throw new Error('Task failed!');
}, { name: 'failing_task' });
const successful = createTask((ctx) => after(300, 'success', ctx), { name: 'successful_task' });
try {
  await gather([failing, successful]);
} catch (error) {
  console.log(`Error caught: ${(error as Error).message}`);
}
await successful.then(undefined, () => {});
console.log(`${successful.name} is ${successful.state}, not left running`);

// 3. With returnExceptions every position holds a value or an error. The seeds' random failures
// come from a seeded generator here, so every run fails the same tasks.
const random = mulberry32(5);
async function unreliableTask(id: number, { signal }: TaskContext, failureRate = 0.3): Promise<string> {
  const delay = 10 + random() * 90;
  const fails = random() < failureRate;
  await sleep(delay, { signal });
  if (fails) throw new Error(`Task ${id} failed`);
  return `Task ${id} completed successfully`;
}
const results = await gather(
  Array.from({ length: 10 }, (_, id) => (ctx: TaskContext) => unreliableTask(id, ctx)),
  { returnExceptions: true },
);
const failed = results.filter((result) => result instanceof Error);
console.log(`Successful tasks: ${results.length - failed.length}`);
console.log(`Failed tasks: ${failed.length} (${failed.map((error) => error.message).join(', ')})`);

/** A small seeded PRNG, so the "random" failures are the same on every run. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

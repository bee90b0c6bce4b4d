// Seeds: sync_task vs async_task — three 2 s waits take 6 s one after another, 2 s under asyncio.gather.
// spate: plain async functions and gather(), whose function inputs get signals so a failure stops the rest.
import { gather, sleep, type TaskContext } from '../../src/core/index.ts';

const DELAY = 200;

async function task(name: string, signal?: AbortSignal): Promise<string> {
  console.log(`Task ${name} started`);
  await sleep(DELAY, { signal });
  console.log(`Task ${name} completed`);
  return `Result from ${name}`;
}

let start = performance.now();
for (const name of ['A', 'B', 'C']) await task(name);
const sequential = performance.now() - start;
console.log(sequential >= 3 * DELAY * 0.95 ? 'sequential: took about 0.6 s (3 × 0.2 s)' : `sequential: took ${sequential} ms?`);

start = performance.now();
// Each function gets its own signal: had one failed, gather would have cancelled the other two.
const results = await gather(['A', 'B', 'C'].map((name) => ({ signal }: TaskContext) => task(name, signal)));
const concurrent = performance.now() - start;
console.log(results);
console.log(concurrent < 2.75 * DELAY ? 'concurrent: took about 0.2 s, not 0.6 s' : `concurrent: took ${concurrent} ms?`);

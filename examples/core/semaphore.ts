// Seeds: ten call_api()s under asyncio.Semaphore(3), about 4 rounds. spate's Semaphore is FIFO-fair, its
// permits are `using` resources, and mapAll() sets the same limit without creating every call up front.
import { gather, mapAll, Semaphore, sleep } from '../../src/core/index.ts';

const CALL = 100;
let running = 0;
let peak = 0;

async function callApi(apiId: number, signal?: AbortSignal): Promise<string> {
  peak = Math.max(peak, ++running);
  try {
    await sleep(CALL, { signal });
    return `Result ${apiId}`;
  } finally {
    running--;
  }
}

const semaphore = new Semaphore(3);
const startOrder: number[] = [];
let start = performance.now();
const results = await gather(
  Array.from({ length: 10 }, (_, apiId) => async () => {
    using _permit = await semaphore.acquire(); // released when this block ends, however it ends
    startOrder.push(apiId);
    return await callApi(apiId); // `await`: the permit must outlive the call
  }),
);
let elapsed = performance.now() - start;
console.log(`Completed ${results.length} API calls, at most ${peak} at once`);
console.log(`started in order: ${startOrder.join(' ')} (FIFO: a freed permit goes to the longest waiter)`);
const about = (ms: number) => (ms >= 3.8 * CALL && ms < 9.5 * CALL ? 'about 0.4 s: 4 rounds of 0.1 s (not 0.1 s, not 1 s)' : `${ms} ms?`);
console.log(`took ${about(elapsed)}`);

// The same limit as a concurrency option: items are pulled as slots free up, results in order.
peak = 0;
start = performance.now();
const mapped = await mapAll(Array.from({ length: 10 }, (_, i) => i), (apiId, { signal }) => callApi(apiId, signal), { concurrency: 3 });
elapsed = performance.now() - start;
console.log(`mapAll: ${mapped.at(0)} … ${mapped.at(-1)}, at most ${peak} at once, took ${about(elapsed)}`);

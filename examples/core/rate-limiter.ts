// Seeds: the RateLimiter class (5 requests per 2 s from a semaphore and a list of times), 15 requests.
// spate's RateLimiter is an exact FIFO sliding window (never more than 5 in any window) that wraps a function.
import { gather, getClock, RateLimiter, sleep } from '../../src/core/index.ts';
import { VirtualClock } from '../../src/testing/index.ts';

// Virtual time (spate/testing): the printed times are exact on every run, and it all takes no time.
// Delete these two lines and the same code runs in real time.
const clock = new VirtualClock();
using _clock = clock.install(); // the default clock for the limiter and sleep() from here on

const INTERVAL = 200;
const limiter = new RateLimiter({ limit: 5, interval: INTERVAL });
const fetchedAt: number[] = [];

const fetchItem = limiter.wrap(async ({ signal }) => {
  const id = fetchedAt.push(getClock().now()) - 1;
  await sleep(50, { signal }); // the request itself
  return `Item ${id}`;
});

// All 15 calls are made at once; the limiter lets 5 through and queues the other 10.
const calls = Array.from({ length: 15 }, () => fetchItem());
console.log(`after 15 calls: ${limiter.stats().waiting} waiting`);
const results = await clock.run(gather(calls));
console.log(`Completed ${results.length} requests in ${getClock().now() / 1000} s`);

const byTime = Map.groupBy(fetchedAt.keys(), (id) => fetchedAt[id]!);
for (const [at, ids] of byTime) console.log(`at ${(at / 1000).toFixed(1)} s: items ${[...ids].join(', ')}`);
const busiest = Math.max(...fetchedAt.map((t) => fetchedAt.filter((u) => u >= t && u < t + INTERVAL).length));
console.log(`never more than ${busiest} requests in any ${INTERVAL / 1000} s`);

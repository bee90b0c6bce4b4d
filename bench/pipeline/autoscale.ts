// pipeline/autoscale: a stage calling the lab's /delay through a Session; its per-item latency
// changes mid-run (20 ms, then 5 ms), then the input thins to a trickle. Reports the seconds the
// autoscaler ({ min: 1, max: 64 }) takes to reach 90 % of the best fixed concurrency's throughput
// (of 4, 16, 64), the most workers it ran (never past max), and the workers it settled at on the trickle.
// Usage: LAB_URL=… node autoscale.ts spate --n=3000
import { sleep } from '../../src/core/index.ts';
import { Session } from '../../src/http/index.ts';
import { pipeline } from '../../src/pipeline/index.ts';
import { args, report } from '../lib.ts';

const { n } = args({ n: 3000 }) as { n: number };
const lab = process.env.LAB_URL!;
const session = new Session();
const call = (seconds: number) => async (_x: number, { signal }: { signal: AbortSignal }) => {
  const r = await session.get(`${lab}/delay/${seconds}`, { signal });
  await r.bytes();
};

async function fixed(concurrency: number, items: number): Promise<number> {
  const start = performance.now();
  await pipeline(Array.from({ length: items }, (_, i) => i)).map(call(0.02), { concurrency }).run();
  return items / ((performance.now() - start) / 1000);
}

const best = Math.max(await fixed(4, n / 10), await fixed(16, n / 5), await fixed(64, n / 2));

let phase = 0.02;
async function* source() {
  for (let i = 0; i < n; i++) {
    if (i === n / 2) phase = 0.005;
    yield i;
  }
  for (let i = 0; i < 300; i++) {
    await sleep(10);
    yield i;
  }
}
const p = pipeline(source()).map((x, ctx) => call(phase)(x, ctx), { name: 'call', concurrency: { min: 1, max: 64, interval: 100, cooldown: 500 } });
const start = performance.now();
const run = p.run();
let finished = false;
run.then(() => { finished = true; }, () => { finished = true; });
let reached: number | undefined;
let maxWorkers = 0;
let last = 0;
const window: number[] = [];
const workers: number[] = [];
while (!finished) {
  await sleep(100);
  const s = p.stats().stages[0]!;
  maxWorkers = Math.max(maxWorkers, s.workers);
  workers.push(s.workers);
  window.push(s.out - last);
  last = s.out;
  if (window.length > 5) window.shift();
  const rate = (window.reduce((a, b) => a + b, 0) / window.length) * 10;
  if (reached === undefined && window.length === 5 && rate >= 0.9 * best) reached = (performance.now() - start) / 1000 - 0.25;
}
await run;
await session.close();
const settled = workers.slice(-5);
// never reaching 90 % reports the whole run's time, with reached_90pct 0
const total = (performance.now() - start) / 1000;
report(reached ?? total, { reached_90pct: reached === undefined ? 0 : 1, best_fixed_per_s: Math.round(best), max_workers: maxWorkers, settled_workers: Math.max(...settled) });

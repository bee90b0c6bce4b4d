// Seed 002: "if qsize() > 50 and len(workers) < max_workers: add a worker" — done properly: the
// stage grows while its queue is full and its workers are busy, never past max, and shrinks when
// the load is lighter (docs/pipeline.md, "Dynamic workers"). Time is virtual here, so the run is
// the same every time.
import { sleep } from '../../src/core/index.ts';
import { VirtualClock } from '../../src/testing/index.ts';
import { pipeline } from '../../src/pipeline/index.ts';

const clock = new VirtualClock();
async function* source() {
  for (let i = 0; i < 3000; i++) yield i; // a flood…
  for (let i = 0; i < 200; i++) {
    await sleep(20, { clock }); // …then a trickle
    yield i;
  }
}
const p = pipeline(source(), { clock })
  .map((x, { signal }) => sleep(20, { signal, clock }).then(() => x), { name: 'work', concurrency: { min: 1, max: 10, interval: 100, cooldown: 500 } });
const run = p.run();
let done = false;
run.then(() => { done = true; }, () => { done = true; });
const seen: number[] = [];
while (!done) {
  await clock.advance(100);
  const n = p.stats().stages[0]!.workers;
  if (!done && n !== seen.at(-1)) seen.push(n);
}
await run;
console.log(`worker counts over time: ${seen.join(' → ')}`);
console.log(`peak ${Math.max(...seen)} (max 10), settled at ${seen.at(-1)} on the trickle`);

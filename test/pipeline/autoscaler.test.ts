import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../../src/core/index.ts';
import { VirtualClock } from '../../src/testing/index.ts';
import { Autoscaler, pipeline } from '../../src/pipeline/index.ts';

const busy = { fill: 1, utilisation: 1 };
const idle = { fill: 0, utilisation: 0 };

test('Autoscaler - steps up by half while the queue is full and workers busy, never past max', () => {
  const a = new Autoscaler({ min: 1, max: 10, initial: 1, cooldown: 0 });
  const seen: number[] = [];
  for (let t = 1, done = 10; t <= 12; t++, done *= 2) seen.push(a.observe({ ...busy, completed: done }, t * 100));
  assert.deepEqual(seen.slice(0, 7), [2, 3, 4, 6, 9, 10, 10]);
  assert.ok(seen.every((n) => n <= 10));
});

test('Autoscaler - does not grow when workers wait on a slow next stage (low utilisation)', () => {
  const a = new Autoscaler({ min: 1, max: 10, initial: 2, cooldown: 0 });
  for (let t = 1; t <= 10; t++) assert.equal(a.observe({ fill: 1, utilisation: 0.3, completed: 10 }, t * 100), 2);
});

test('Autoscaler - holds at a ceiling when a step up brought no more throughput', () => {
  const a = new Autoscaler({ min: 1, max: 32, initial: 4, cooldown: 100 });
  assert.equal(a.observe({ ...busy, completed: 100 }, 100), 6);
  assert.equal(a.observe({ ...busy, completed: 101 }, 200), 6); // no gain: ceiling for 4 cooldowns
  assert.equal(a.observe({ ...busy, completed: 101 }, 300), 6);
  assert.equal(a.observe({ ...busy, completed: 101 }, 599), 6);
  assert.equal(a.observe({ ...busy, completed: 101 }, 600), 9); // tries again later
});

test('Autoscaler - scales down to the busy workers plus headroom when the queue is empty, not below min', () => {
  const a = new Autoscaler({ min: 2, max: 32, initial: 20, cooldown: 0 });
  assert.equal(a.observe({ fill: 0, utilisation: 0.2, completed: 5 }, 100), 6); // 4 busy / 0.7
  assert.equal(a.observe({ fill: 0, utilisation: 0.66, completed: 5 }, 200), 6); // 3.96 busy fits: hold
  assert.equal(a.observe({ ...idle, completed: 0 }, 300), 2);
});

test('Autoscaler - hysteresis: no step down within the cooldown of a step up, and the reverse', () => {
  const a = new Autoscaler({ min: 1, max: 16, initial: 4, cooldown: 1000 });
  assert.equal(a.observe({ ...busy, completed: 10 }, 100), 6);
  assert.equal(a.observe({ ...idle, completed: 20 }, 200), 6);
  assert.equal(a.observe({ ...idle, completed: 0 }, 1100), 1);
  assert.equal(a.observe({ ...busy, completed: 0 }, 1200), 1);
  assert.equal(a.observe({ ...busy, completed: 0 }, 2100), 2);
});

test('dynamic workers - a stage climbs to max under load, never past it, and comes back down when the load is lighter', async () => {
  const clock = new VirtualClock();
  let phase: 'flood' | 'trickle' = 'flood';
  async function* source() {
    for (let i = 0; i < 2000; i++) yield i;
    phase = 'trickle';
    for (let i = 0; i < 300; i++) {
      await sleep(10, { clock });
      yield i;
    }
  }
  const p = pipeline(source(), { clock })
    .map((x, { signal }) => sleep(20, { signal, clock }).then(() => x), { name: 'work', concurrency: { min: 1, max: 8, interval: 100, cooldown: 300 }, buffer: 64 });
  const run = p.run();
  const workers: { t: number; n: number; phase: string }[] = [];
  let finished = false;
  run.then(() => { finished = true; }, () => { finished = true; });
  while (!finished && clock.now() < 60_000) {
    await clock.advance(50);
    if (!finished) workers.push({ t: clock.now(), n: p.stats().stages[0]!.workers, phase });
  }
  await run;
  const max = Math.max(...workers.map((w) => w.n));
  assert.equal(max, 8, 'reached max under the flood');
  assert.ok(workers.every((w) => w.n <= 8), 'never above max');
  const trickle = workers.filter((w) => w.phase === 'trickle');
  const tail = trickle.slice(Math.floor(trickle.length / 2));
  // one item per 10 ms at 20 ms each needs 2 busy workers: with headroom, 3; never back to 8
  assert.ok(tail.every((w) => w.n >= 2 && w.n <= 4), `tail ${tail.map((w) => w.n).join(',')}`);
  const changes = tail.filter((w, i) => i > 0 && w.n !== tail[i - 1]!.n).length;
  assert.ok(changes <= 2, `no oscillation: ${changes} changes in ${tail.map((w) => w.n).join(',')}`);
});

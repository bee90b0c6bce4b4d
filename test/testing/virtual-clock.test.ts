import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/testing/index.ts';
import { sleep } from '../../src/core/index.ts';

test('VirtualClock - timers due at the same time fire in the order they were set', async () => {
  const clock = new VirtualClock();
  const order: number[] = [];
  clock.setTimer(10, () => order.push(1));
  clock.setTimer(5, () => order.push(0));
  clock.setTimer(10, () => order.push(2));
  await clock.advance(10);
  assert.deepEqual(order, [0, 1, 2]);
  assert.equal(clock.now(), 10);
});

test('VirtualClock - advance() fires timers set by continuations inside its window', async () => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  const p = (async () => {
    await sleep(10, { clock });
    seen.push(clock.now());
    await sleep(10, { clock });
    seen.push(clock.now());
  })();
  await clock.advance(25);
  await p;
  assert.deepEqual(seen, [10, 20]);
  assert.equal(clock.now(), 25);
});

test('VirtualClock - cleared timers never fire and are not counted', async () => {
  const clock = new VirtualClock();
  let fired = false;
  const t = clock.setTimer(1, () => (fired = true));
  assert.equal(clock.pendingTimers, 1);
  t.clear();
  t.clear();
  assert.equal(clock.pendingTimers, 0);
  await clock.advance(10);
  assert.equal(fired, false);
});

test('VirtualClock - run() jumps time until the work settles', async () => {
  const clock = new VirtualClock();
  const result = await clock.run(async () => {
    await sleep(60_000, { clock });
    await sleep(60_000, { clock });
    return clock.now();
  });
  assert.equal(result, 120_000);
});

test('VirtualClock - install() swaps the default clock and restore brings it back', async () => {
  const clock = new VirtualClock(1000);
  const { getClock, systemClock } = await import('../../src/core/index.ts');
  {
    using _ = clock.install();
    assert.equal(getClock(), clock);
  }
  assert.equal(getClock(), systemClock);
});

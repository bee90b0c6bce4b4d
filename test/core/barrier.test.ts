import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Barrier } from '../../src/core/barrier.ts';
import { BrokenBarrierError, InvalidArgumentError, TimeoutError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

const turn = () => new Promise((r) => setImmediate(r));

/** An AbortController whose signal counts listeners added; `listening()` counts those still attached. */
function countedController() {
  const ac = new AbortController();
  const counts = { added: 0 };
  const add = ac.signal.addEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...args: Parameters<typeof add>) => (counts.added++, add(...args))) as typeof add;
  return { ac, signal: ac.signal, counts, listening: () => getEventListeners(ac.signal, 'abort').length };
}

test('Barrier.wait() - nobody passes until all parties arrive; indices are arrival order', async () => {
  const barrier = new Barrier(3);
  let passed = 0;
  const a = barrier.wait().then((i) => (passed++, i));
  const b = barrier.wait().then((i) => (passed++, i));
  await turn();
  assert.equal(passed, 0);
  assert.equal(barrier.nWaiting, 2);
  const c = barrier.wait();
  assert.deepEqual(await Promise.all([a, b, c]), [0, 1, 2]);
  assert.equal(barrier.nWaiting, 0);
  assert.deepEqual(barrier.stats(), { parties: 3, waiting: 0, broken: false });
});

test('Barrier.wait() - the barrier is reusable, cycle after cycle', async () => {
  const barrier = new Barrier(2);
  for (let cycle = 0; cycle < 3; cycle++) {
    assert.deepEqual(await Promise.all([barrier.wait(), barrier.wait()]), [0, 1]);
  }
  const one = new Barrier(1);
  assert.equal(await one.wait(), 0);
  assert.equal(await one.wait(), 0);
});

test('Barrier.abort() - breaks the barrier: waiters and later calls reject with BrokenBarrierError until reset()', async () => {
  const barrier = new Barrier(3);
  const a = barrier.wait();
  barrier.abort();
  await assert.rejects(a, BrokenBarrierError);
  assert.equal(barrier.broken, true);
  assert.equal(barrier.nWaiting, 0);
  await assert.rejects(barrier.wait(), BrokenBarrierError);
  barrier.reset();
  assert.equal(barrier.broken, false);
  const rest = Promise.all([barrier.wait(), barrier.wait()]);
  assert.deepEqual(await Promise.all([rest, barrier.wait()]), [[0, 1], 2]);
});

test('Barrier.reset() - rejects the current waiters and leaves the barrier usable', async () => {
  const barrier = new Barrier(2);
  const a = barrier.wait();
  barrier.reset();
  await assert.rejects(a, /Barrier was reset/);
  assert.equal(barrier.broken, false);
  assert.deepEqual(await Promise.all([barrier.wait(), barrier.wait()]), [0, 1]);
});

test('Barrier.wait() - a waiter that aborts rejects with signal.reason and breaks the barrier for the others', async () => {
  const barrier = new Barrier(3);
  const { ac, signal, counts, listening } = countedController();
  const other = barrier.wait();
  const leaver = barrier.wait({ signal });
  ac.abort('left');
  await assert.rejects(leaver, (e) => e === 'left');
  await assert.rejects(other, BrokenBarrierError);
  assert.equal(barrier.broken, true);
  assert.equal(counts.added, 1);
  assert.equal(listening(), 0);
});

test('Barrier.wait() - a timeout rejects with TimeoutError, breaks the barrier, and leaves no timer', async () => {
  const clock = new VirtualClock();
  const barrier = new Barrier(3, { clock });
  const other = assert.rejects(barrier.wait({ timeout: 1000 }), BrokenBarrierError);
  const late = assert.rejects(barrier.wait({ timeout: 100 }), TimeoutError);
  await clock.advance(100);
  await late;
  await other;
  assert.equal(barrier.broken, true);
  assert.equal(clock.pendingTimers, 0);
});

test('Barrier.wait() - parties released together clear their timers and listeners', async () => {
  const clock = new VirtualClock();
  const barrier = new Barrier(2, { clock });
  const { signal, counts, listening } = countedController();
  const a = barrier.wait({ signal, timeout: 500 });
  const b = barrier.wait({ timeout: 500 });
  assert.deepEqual(await Promise.all([a, b]), [0, 1]);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(counts.added, 1);
  assert.equal(listening(), 0);
  await clock.advance(1000);
  assert.equal(barrier.broken, false);
});

test('Barrier.wait() - an already-aborted signal rejects without arriving or breaking the barrier', async () => {
  const barrier = new Barrier(2);
  await assert.rejects(barrier.wait({ signal: AbortSignal.abort('no') }), (e) => e === 'no');
  assert.equal(barrier.nWaiting, 0);
  assert.equal(barrier.broken, false);
});

test('Barrier() - rejects bad parties with a clear error', () => {
  assert.throws(() => new Barrier(0), InvalidArgumentError);
  assert.throws(() => new Barrier(2.5), /Expected `parties` to be an integer ≥ 1, got 2.5/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, InvalidArgumentError } from '../../src/core/index.ts';
import { VirtualClock } from '../../src/testing/index.ts';

test('sleep() - resolves when the clock reaches the deadline, not before', async () => {
  const clock = new VirtualClock();
  let done = false;
  const p = sleep(100, { clock }).then(() => (done = true));
  await clock.advance(99);
  assert.equal(done, false);
  await clock.advance(1);
  await p;
  assert.equal(done, true);
  assert.equal(clock.pendingTimers, 0);
});

test('sleep() - abort rejects with signal.reason and clears the timer', async () => {
  const clock = new VirtualClock();
  const ac = new AbortController();
  const p = sleep(1000, { clock, signal: ac.signal });
  const reason = new Error('stop');
  ac.abort(reason);
  await assert.rejects(p, (e) => e === reason);
  assert.equal(clock.pendingTimers, 0);
});

test('sleep() - an already-aborted signal rejects without setting a timer', async () => {
  const clock = new VirtualClock();
  await assert.rejects(sleep(10, { clock, signal: AbortSignal.abort('x') }), (e) => e === 'x');
  assert.equal(clock.pendingTimers, 0);
});

test('sleep() - removes its abort listener once it resolves', async () => {
  const clock = new VirtualClock();
  const ac = new AbortController();
  let added = 0;
  let removed = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
  ac.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
  const p = sleep(5, { clock, signal: ac.signal });
  await clock.advance(5);
  await p;
  assert.equal(added, 1);
  assert.equal(removed, 1);
});

test('sleep() - rejects bad durations with a clear error', () => {
  assert.throws(() => sleep(-1), InvalidArgumentError);
  assert.throws(() => sleep(Number.NaN), /Expected `ms` to be a number ≥ 0, got NaN/);
});

test('sleep() - uses the installed default clock', async () => {
  const clock = new VirtualClock();
  using _ = clock.install();
  let done = false;
  const p = sleep(50).then(() => (done = true));
  await clock.advance(50);
  await p;
  assert.equal(done, true);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asCompleted } from '../../src/core/as-completed.ts';
import { createTask } from '../../src/core/task.ts';
import { CancelledError, TimeoutError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { countListeners } from '../helpers/listeners.ts';

const after = <T>(clock: VirtualClock, ms: number, value: T) => async ({ signal }: { signal: AbortSignal }) => {
  await sleep(ms, { signal, clock });
  return value;
};

test('asCompleted() - yields values in completion order', async () => {
  const clock = new VirtualClock();
  const seen: string[] = [];
  await clock.run(async () => {
    for await (const value of asCompleted([after(clock, 30, 'c'), sleep(10, { clock }).then(() => 'a'), createTask(after(clock, 20, 'b'))])) {
      seen.push(value);
    }
  });
  assert.deepEqual(seen, ['a', 'b', 'c']);
  assert.equal(clock.pendingTimers, 0);
});

test('asCompleted() - a failure is thrown where it completes, and the rest are cancelled', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  const seen: string[] = [];
  const slowTask = createTask(after(clock, 100, 'slow task'));
  let slowSignal: AbortSignal | undefined;
  const loop = async () => {
    const inputs = [
      after(clock, 10, 'first'),
      async ({ signal }: { signal: AbortSignal }) => {
        await sleep(20, { signal, clock });
        throw boom;
      },
      slowTask,
      ({ signal }: { signal: AbortSignal }) => ((slowSignal = signal), sleep(100, { signal, clock }).then(() => 'slow fn')),
    ];
    for await (const value of asCompleted(inputs)) seen.push(value);
  };
  await assert.rejects(clock.run(loop), (e) => e === boom);
  assert.deepEqual(seen, ['first']);
  await clock.advance(0);
  assert.equal(slowTask.state, 'cancelled');
  assert.ok(slowSignal?.reason instanceof CancelledError);
  assert.equal(clock.pendingTimers, 0);
});

test('asCompleted() - breaking out of the loop cancels the inputs still running', async () => {
  const clock = new VirtualClock();
  const tasks = [createTask(after(clock, 10, 1)), createTask(after(clock, 20, 2)), createTask(after(clock, 30, 3))];
  await clock.run(async () => {
    for await (const value of asCompleted(tasks)) {
      assert.equal(value, 1);
      break;
    }
  });
  await clock.advance(0);
  assert.deepEqual(tasks.map((t) => t.state), ['fulfilled', 'cancelled', 'cancelled']);
  assert.equal(clock.pendingTimers, 0);
});

test('asCompleted({ timeout }) - values done before the deadline come out, then TimeoutError', async () => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  const loop = async () => {
    for await (const value of asCompleted([after(clock, 10, 1), after(clock, 100, 2)], { timeout: 50, clock })) seen.push(value);
  };
  await assert.rejects(clock.run(loop), TimeoutError);
  assert.deepEqual(seen, [1]);
  await clock.advance(0);
  assert.equal(clock.pendingTimers, 0);
});

test('asCompleted({ signal }) - an abort is thrown from the loop and the listener is removed', async () => {
  const clock = new VirtualClock();
  const outer = new AbortController();
  const counts = countListeners(outer.signal);
  const iterator = asCompleted([after(clock, 100, 1)], { signal: outer.signal, clock });
  const first = iterator.next();
  await clock.advance(0);
  outer.abort('stop');
  await assert.rejects(first, (e) => e === 'stop');
  assert.equal(counts.added, 1);
  await clock.advance(0);
  assert.equal(clock.pendingTimers, 0);
  const done = new AbortController();
  const doneCounts = countListeners(done.signal);
  for await (const _ of asCompleted([Promise.resolve(1)], { signal: done.signal })) void _;
  assert.equal(doneCounts.added, doneCounts.removed);
});

test('asCompleted() - starts functions only on the first step', async () => {
  let started = false;
  const iterator = asCompleted([async () => (started = true)]);
  assert.equal(started, false);
  assert.deepEqual(await iterator.next(), { done: false, value: true });
  assert.equal(started, true);
});

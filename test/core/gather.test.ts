import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gather } from '../../src/core/gather.ts';
import { createTask, type Task } from '../../src/core/task.ts';
import { CancelledError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { countListeners } from '../helpers/listeners.ts';

test('gather() - resolves with results in input order, not completion order', async () => {
  const clock = new VirtualClock();
  const order: string[] = [];
  const slow = createTask(async ({ signal }) => {
    await sleep(30, { signal, clock });
    order.push('task');
    return 1;
  });
  const result = gather([
    slow,
    sleep(10, { clock }).then(() => (order.push('promise'), 'two')),
    async ({ signal }) => {
      await sleep(20, { signal, clock });
      order.push('function');
      return true;
    },
  ]);
  await clock.advance(30);
  const values = await result;
  // Typed as a tuple: [number, string, boolean].
  const [a, b, c]: [number, string, boolean] = values;
  assert.deepEqual([a, b, c], [1, 'two', true]);
  assert.deepEqual(order, ['promise', 'function', 'task']);
  assert.equal(clock.pendingTimers, 0);
});

test('gather() - an empty input resolves to an empty array', async () => {
  assert.deepEqual(await gather([]), []);
});

test('gather() - the first failure cancels the sibling tasks and functions and rejects with that error', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  let functionSignal: AbortSignal | undefined;
  const sibling = createTask(({ signal }) => sleep(1000, { signal, clock }));
  const result = gather([
    sibling,
    ({ signal }) => {
      functionSignal = signal;
      return sleep(1000, { signal, clock });
    },
    sleep(10, { clock }).then(() => Promise.reject(boom)),
  ]);
  result.catch(() => {});
  await clock.advance(10);
  await assert.rejects(result, (e) => e === boom);
  assert.equal(functionSignal?.aborted, true);
  assert.ok(functionSignal?.reason instanceof CancelledError);
  assert.equal((functionSignal?.reason as Error).cause, boom);
  await assert.rejects(sibling, CancelledError);
  assert.equal(sibling.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
});

test('gather({ returnExceptions }) - rejected positions hold their errors and nothing is cancelled', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  const task = createTask(async ({ signal }) => {
    await sleep(20, { signal, clock });
    return 'late';
  });
  const result = gather([Promise.reject(boom), task, async () => 3], { returnExceptions: true });
  await clock.advance(20);
  const values = await result;
  assert.deepEqual(values, [boom, 'late', 3]);
  assert.equal(task.state, 'fulfilled');
});

test('gather({ signal }) - an abort cancels the inputs and rejects with the reason; the listener goes away', async () => {
  const clock = new VirtualClock();
  const outer = new AbortController();
  const counts = countListeners(outer.signal);
  let functionSignal: AbortSignal | undefined;
  const task: Task<void> = createTask(({ signal }) => sleep(1000, { signal, clock }));
  const result = gather([task, ({ signal }) => ((functionSignal = signal), sleep(1000, { signal, clock }))], { signal: outer.signal });
  outer.abort('stop');
  await assert.rejects(result, (e) => e === 'stop');
  await assert.rejects(task, (e) => e === 'stop');
  assert.equal(functionSignal?.reason, 'stop');
  assert.equal(clock.pendingTimers, 0);
  assert.equal(counts.added, 1);
  const done = new AbortController();
  const doneCounts = countListeners(done.signal);
  await gather([async () => 1], { signal: done.signal });
  assert.equal(doneCounts.added, doneCounts.removed);
});

test('gather({ signal }) - an already-aborted signal rejects and starts no function', async () => {
  let started = false;
  await assert.rejects(gather([async () => (started = true)], { signal: AbortSignal.abort('early') }), (e) => e === 'early');
  assert.equal(started, false);
});

test('gather() - a function that throws synchronously counts as a failure', async () => {
  const boom = new Error('sync');
  await assert.rejects(gather([() => {
    throw boom;
  }]), (e) => e === boom);
});

test('gather() - each function gets a signal of its own, and a failure aborts every one', async () => {
  // One shared signal with n listeners makes each addEventListener O(n) in Node: O(n²) for a
  // gather of thousands. Distinct signals keep it linear.
  const signals: AbortSignal[] = [];
  const failure = new Error('boom');
  const inputs = Array.from({ length: 50 }, (_, i) => async ({ signal }: { signal: AbortSignal }) => {
    signals.push(signal);
    if (i === 49) throw failure;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  });
  await assert.rejects(gather(inputs), (e) => e === failure);
  assert.equal(new Set(signals).size, 50);
  assert.ok(signals.every((s) => s.aborted));
});

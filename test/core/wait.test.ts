import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wait } from '../../src/core/wait.ts';
import { createTask } from '../../src/core/task.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

const after = (clock: VirtualClock, ms: number, value: string) => async ({ signal }: { signal: AbortSignal }) => {
  await sleep(ms, { signal, clock });
  return value;
};
const failAfter = (clock: VirtualClock, ms: number, error: Error) => async ({ signal }: { signal: AbortSignal }) => {
  await sleep(ms, { signal, clock });
  throw error;
};

test("wait() - 'ALL_COMPLETED' returns when every input has settled, failures included", async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  const { done, pending } = await clock.run(wait([after(clock, 10, 'a'), failAfter(clock, 20, boom), after(clock, 30, 'c')]));
  assert.equal(done.size, 3);
  assert.equal(pending.size, 0);
  const outcomes = [...done].map((t) => (t.state === 'fulfilled' ? t.result() : t.error())).sort();
  assert.deepEqual(outcomes.map(String), ['Error: boom', 'a', 'c']);
  assert.equal(clock.pendingTimers, 0);
});

test("wait() - 'FIRST_COMPLETED' returns at the first settlement and cancels nothing", async () => {
  const clock = new VirtualClock();
  const result = wait([after(clock, 30, 'slow'), after(clock, 10, 'fast')], { returnWhen: 'FIRST_COMPLETED' });
  await clock.advance(10);
  const { done, pending } = await result;
  assert.deepEqual([...done].map((t) => t.result()), ['fast']);
  assert.equal(pending.size, 1);
  const [slow] = [...pending];
  assert.equal(slow!.state, 'pending');
  await clock.advance(20);
  assert.equal(await slow, 'slow');
});

test("wait() - 'FIRST_EXCEPTION' returns at the first rejection, not at a cancellation", async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  const cancelled = createTask(({ signal }) => sleep(1000, { signal, clock }));
  const result = wait([cancelled, after(clock, 5, 'ok'), failAfter(clock, 20, boom), after(clock, 50, 'later')], { returnWhen: 'FIRST_EXCEPTION' });
  cancelled.cancel();
  await clock.advance(20);
  const { done, pending } = await result;
  assert.equal(done.size, 3);
  assert.equal(pending.size, 1);
  assert.ok([...done].some((t) => t.error() === boom));
  for (const t of pending) t.cancel();
  await clock.advance(0);
  assert.equal(clock.pendingTimers, 0);
});

test("wait() - 'FIRST_EXCEPTION' without failures is 'ALL_COMPLETED'", async () => {
  const clock = new VirtualClock();
  const { done, pending } = await clock.run(wait([after(clock, 5, 'a'), after(clock, 10, 'b')], { returnWhen: 'FIRST_EXCEPTION' }));
  assert.equal(done.size, 2);
  assert.equal(pending.size, 0);
});

test('wait({ timeout }) - returns what is done at the deadline without throwing, and clears its timer', async () => {
  const clock = new VirtualClock();
  const result = wait([after(clock, 5, 'a'), after(clock, 100, 'b')], { timeout: 50, clock });
  await clock.advance(50);
  const { done, pending } = await result;
  assert.equal(done.size, 1);
  assert.equal(pending.size, 1);
  for (const t of pending) t.cancel();
  await clock.advance(0);
  assert.equal(clock.pendingTimers, 0);
});

test('wait() - keeps the Tasks it is given and wraps promises in Tasks', async () => {
  const clock = new VirtualClock();
  const task = createTask(after(clock, 5, 'task'));
  const promise = sleep(5, { clock }).then(() => 'promise');
  const result = wait([task, promise]);
  await clock.advance(5);
  const { done } = await result;
  assert.ok(done.has(task));
  assert.deepEqual([...done].map((t) => t.result()).sort(), ['promise', 'task']);
});

test('wait({ signal }) - an abort rejects with the reason and cancels the tasks wait created', async () => {
  const clock = new VirtualClock();
  const outer = new AbortController();
  const mine = createTask(after(clock, 100, 'mine'));
  let createdSignal: AbortSignal | undefined;
  const result = wait([mine, ({ signal }) => ((createdSignal = signal), sleep(100, { signal, clock }))], { signal: outer.signal, timeout: 1000, clock });
  outer.abort('stop');
  await assert.rejects(result, (e) => e === 'stop');
  assert.equal(createdSignal?.reason, 'stop');
  assert.equal(mine.state, 'pending');
  mine.cancel();
  await clock.advance(0);
  assert.equal(clock.pendingTimers, 0);
});

test('wait() - an empty input returns two empty sets', async () => {
  const { done, pending } = await wait([]);
  assert.equal(done.size + pending.size, 0);
});

test('wait() - rejects a bad returnWhen', () => {
  assert.throws(() => wait([], { returnWhen: 'FIRST' as never }), InvalidArgumentError);
});

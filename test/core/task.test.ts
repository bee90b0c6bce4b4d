import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { fileURLToPath } from 'node:url';
import { createTask, Task } from '../../src/core/task.ts';
import { InvalidStateError } from '../../src/core/errors.ts';
import { CancelledError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';


test('createTask() - runs fn at once and settles with its value', async () => {
  let ran = false;
  const task = createTask(async () => {
    ran = true;
    return 42;
  });
  assert.equal(ran, true);
  assert.equal(task.state, 'pending');
  assert.equal(task.done(), false);
  assert.equal(await task, 42);
  assert.equal(task.state, 'fulfilled');
  assert.equal(task.done(), true);
  assert.equal(task.result(), 42);
  assert.equal(task.error(), undefined);
  assert.ok(task instanceof Task);
});

test('createTask() - names tasks, by default Task-<n>', async () => {
  const named = createTask(() => 1, { name: 'fetch' });
  const unnamed = createTask(() => 2);
  assert.equal(named.name, 'fetch');
  assert.match(unnamed.name, /^Task-\d+$/);
  await Promise.all([named, unnamed]);
});

test('createTask() - a sync value and a sync throw both settle the task', async () => {
  const ok = createTask(() => 'sync');
  const boom = new Error('boom');
  const bad = createTask(() => {
    throw boom;
  });
  assert.equal(await ok, 'sync');
  await assert.rejects(bad, (e) => e === boom);
  assert.equal(bad.state, 'rejected');
  assert.throws(() => bad.result(), (e) => e === boom);
  assert.equal(bad.error(), boom);
});

test('cancel() - aborts the signal with a CancelledError; the task ends cancelled', async () => {
  const clock = new VirtualClock();
  const task = createTask(({ signal }) => sleep(1000, { signal, clock }));
  assert.equal(task.cancel(), true);
  assert.equal(task.signal.aborted, true);
  assert.ok(task.signal.reason instanceof CancelledError);
  await assert.rejects(task, CancelledError);
  assert.equal(task.state, 'cancelled');
  assert.equal(task.cancelled(), true);
  assert.throws(() => task.result(), CancelledError);
  assert.ok(task.error() instanceof CancelledError);
  assert.equal(clock.pendingTimers, 0);
});

test('cancel(reason) - the task rejects with that reason and is cancelled', async () => {
  const clock = new VirtualClock();
  const task = createTask(({ signal }) => sleep(1000, { signal, clock }));
  const reason = new Error('enough');
  task.cancel(reason);
  await assert.rejects(task, (e) => e === reason);
  assert.equal(task.state, 'cancelled');
});

test('cancel() - returns false once the task has settled, and changes nothing', async () => {
  const task = createTask(async () => 'v');
  await task;
  assert.equal(task.cancel(), false);
  assert.equal(task.state, 'fulfilled');
  assert.equal(task.signal.aborted, false);
});

test('cancel() - the task settles when fn settles, not before', async () => {
  const clock = new VirtualClock();
  const task = createTask(async ({ signal }) => {
    try {
      await sleep(1000, { signal, clock });
    } catch (error) {
      await sleep(10, { clock }); // cleanup takes time
      throw error;
    }
  });
  task.cancel();
  await clock.advance(5);
  assert.equal(task.state, 'pending');
  await clock.advance(5);
  await assert.rejects(task, CancelledError);
  assert.equal(task.state, 'cancelled');
});

test('cancel() - fn that swallows the abort and returns makes the task fulfilled', async () => {
  const task = createTask(async ({ signal }) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    return 'stopped cleanly';
  });
  task.cancel();
  assert.equal(await task, 'stopped cleanly');
  assert.equal(task.state, 'fulfilled');
});

test('cancel() - fn that rejects with another error after the abort makes the task rejected', async () => {
  const other = new Error('cleanup failed');
  const task = createTask(async ({ signal }) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    throw other;
  });
  task.cancel();
  await assert.rejects(task, (e) => e === other);
  assert.equal(task.state, 'rejected');
});

test('createTask({ signal }) - an outer abort cancels the task with the outer reason', async () => {
  const clock = new VirtualClock();
  const outer = new AbortController();
  const task = createTask(({ signal }) => sleep(1000, { signal, clock }), { signal: outer.signal });
  outer.abort('shutdown');
  await assert.rejects(task, (e) => e === 'shutdown');
  assert.equal(task.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
});

test('createTask({ signal }) - the outer signal listener is removed when the task settles', async () => {
  const outer = new AbortController();
  const tasks = [createTask(async () => 1, { signal: outer.signal }), createTask(async () => Promise.reject(new Error('x')), { signal: outer.signal })];
  assert.equal(getEventListeners(outer.signal, 'abort').length, 1, 'waits on one signal share one listener');
  await tasks[0];
  await tasks[1]!.catch(() => {});
  assert.equal(getEventListeners(outer.signal, 'abort').length, 0);
});

test('createTask({ signal }) - an already-aborted outer signal starts the task cancelled', async () => {
  let seen: boolean | undefined;
  const task = createTask(async ({ signal }) => {
    seen = signal.aborted;
    signal.throwIfAborted();
  }, { signal: AbortSignal.abort('early') });
  assert.equal(seen, true);
  await assert.rejects(task, (e) => e === 'early');
  assert.equal(task.cancelled(), true);
});

test('result() and error() - throw InvalidStateError while the task is pending', async () => {
  const clock = new VirtualClock();
  const task = createTask(({ signal }) => sleep(10, { signal, clock }));
  assert.throws(() => task.result(), InvalidStateError);
  assert.throws(() => task.error(), InvalidStateError);
  await clock.advance(10);
  await task;
});

test('then/catch/finally - every awaiter sees the same outcome, before and after settling', async () => {
  const boom = new Error('boom');
  const task = createTask(async () => {
    await null;
    throw boom;
  });
  const early = task.catch((e) => e);
  let finallyRan = false;
  const viaFinally = task.finally(() => (finallyRan = true)).catch((e) => e);
  assert.equal(await early, boom);
  assert.equal(await viaFinally, boom);
  assert.equal(finallyRan, true);
  assert.equal(await task.then(() => 'no', (e) => e), boom);
});

test('createTask() - publishes taskStart and taskEnd when subscribed', async () => {
  const events: string[] = [];
  const onStart = (message: unknown) => events.push(`start ${(message as { task: Task<unknown> }).task.name}`);
  const onEnd = (message: unknown) => events.push(`end ${(message as { state: string }).state}`);
  subscribe('spate:task:start', onStart);
  subscribe('spate:task:end', onEnd);
  try {
    await createTask(async () => 1, { name: 'observed' });
  } finally {
    unsubscribe('spate:task:start', onStart);
    unsubscribe('spate:task:end', onEnd);
  }
  assert.deepEqual(events, ['start observed', 'end fulfilled']);
});

test('unhandled rejections - a failed bare task nobody awaits is reported; a cancelled one and an awaited one are not', () => {
  const taskUrl = new URL('../../src/core/task.ts', import.meta.url).href;
  const script = `
    import { createTask } from ${JSON.stringify(taskUrl)};
    const reported = [];
    process.on('unhandledRejection', (error) => reported.push(String(error && error.message || error)));
    createTask(async () => { throw new Error('floating'); });
    const cancelled = createTask(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
    cancelled.cancel();
    const awaited = createTask(async () => { throw new Error('awaited'); });
    awaited.catch(() => {});
    setTimeout(() => console.log(JSON.stringify(reported)), 20);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: fileURLToPath(new URL('.', import.meta.url)) });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout.trim()), ['floating']);
});

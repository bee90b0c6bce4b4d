import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { TaskGroup } from '../../src/core/task-group.ts';
import { CancelledError, ClosedError, TaskGroupError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { countListeners } from '../helpers/listeners.ts';

const fail = (error: unknown) => async () => {
  await null;
  throw error;
};

test('close() - waits for every child, including ones spawned while closing', async () => {
  const clock = new VirtualClock();
  const group = new TaskGroup();
  const order: string[] = [];
  group.spawn(async ({ signal }) => {
    await sleep(10, { signal, clock });
    order.push('a');
    group.spawn(async ({ signal }) => {
      await sleep(30, { signal, clock });
      order.push('grandchild');
    });
  });
  group.spawn(async ({ signal }) => {
    await sleep(20, { signal, clock });
    order.push('b');
  });
  let closed = false;
  const closing = group.close().then(() => (closed = true));
  await clock.advance(35);
  assert.equal(closed, false);
  assert.equal(group.size, 1);
  await clock.advance(5);
  await closing;
  assert.deepEqual(order, ['a', 'b', 'grandchild']);
  assert.equal(group.size, 0);
  assert.equal(group.closed, true);
  assert.equal(clock.pendingTimers, 0);
});

test('close() - the first failure cancels the siblings and is raised wrapped in a TaskGroupError', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  const group = new TaskGroup();
  const sibling = group.spawn(({ signal }) => sleep(1000, { signal, clock }));
  group.spawn(fail(boom));
  const error = await group.close().then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof TaskGroupError);
  assert.ok(error instanceof AggregateError);
  assert.deepEqual(error.errors, [boom]);
  assert.equal(error.cause, boom);
  assert.equal(sibling.state, 'cancelled');
  assert.ok(group.signal.aborted);
  assert.ok(group.signal.reason instanceof CancelledError);
  assert.equal((group.signal.reason as Error).cause, boom);
  assert.equal(clock.pendingTimers, 0);
});

test('close() - failures that happen before the cancellation lands are all raised; cancellations are not', async () => {
  const a = new Error('a');
  const b = new Error('b');
  const c = new Error('c');
  const group = new TaskGroup();
  group.spawn(fail(a));
  group.spawn(fail(b));
  // This one fails while being cancelled, with an error of its own: a real failure too.
  group.spawn(async ({ signal }) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    throw c;
  });
  group.spawn(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))));
  await assert.rejects(group.close(), (e) => e instanceof TaskGroupError && e.errors.length === 3 && e.errors[0] === a && e.errors[1] === b && e.errors[2] === c);
});

test('close() - a child cancelled on its own is not a failure', async () => {
  const clock = new VirtualClock();
  const group = new TaskGroup();
  const child = group.spawn(({ signal }) => sleep(1000, { signal, clock }));
  const other = group.spawn(({ signal }) => sleep(5, { signal, clock }));
  child.cancel();
  await clock.run(group.close());
  assert.equal(child.state, 'cancelled');
  assert.equal(other.state, 'fulfilled');
  assert.equal(group.signal.aborted, false);
});

test('new TaskGroup({ signal }) - an outside abort cancels every child and close() rejects with its reason', async () => {
  const clock = new VirtualClock();
  const outer = new AbortController();
  const counts = countListeners(outer.signal);
  const group = new TaskGroup({ signal: outer.signal });
  const children = [1, 2, 3].map(() => group.spawn(({ signal }) => sleep(1000, { signal, clock })));
  const closing = group.close();
  outer.abort('shutdown');
  await assert.rejects(closing, (e) => e === 'shutdown');
  assert.deepEqual(children.map((c) => c.state), ['cancelled', 'cancelled', 'cancelled']);
  assert.equal(counts.added, 1);
  assert.equal(clock.pendingTimers, 0);
});

test('new TaskGroup({ signal }) - the outer listener is removed when the group closes normally', async () => {
  const outer = new AbortController();
  const counts = countListeners(outer.signal);
  const group = new TaskGroup({ signal: outer.signal });
  group.spawn(async () => 1);
  await group.close();
  assert.equal(counts.added, 1);
  assert.equal(counts.removed, 1);
});

test('spawn() - adds no abort listener per child on the group or outer signal', async () => {
  const outer = new AbortController();
  const outerCounts = countListeners(outer.signal);
  const group = new TaskGroup({ signal: outer.signal });
  const groupCounts = countListeners(group.signal);
  for (let i = 0; i < 100; i++) group.spawn(async () => i);
  assert.equal(groupCounts.added, 0);
  assert.equal(outerCounts.added, 1);
  await group.close();
});

test('spawn() - after the group aborted, a new child starts with its signal aborted and is still awaited', async () => {
  const group = new TaskGroup();
  group.abort('stop');
  let seen: unknown;
  const late = group.spawn(async ({ signal }) => {
    seen = signal.reason;
    await null;
    signal.throwIfAborted();
  });
  await group.close();
  assert.equal(seen, 'stop');
  assert.equal(late.state, 'cancelled');
});

test('spawn() - throws ClosedError once the group has closed', async () => {
  const group = new TaskGroup();
  await group.close();
  assert.throws(() => group.spawn(async () => 1), ClosedError);
});

test('abort() - cancels the children and the group closes without raising', async () => {
  const clock = new VirtualClock();
  const group = new TaskGroup();
  const child = group.spawn(({ signal }) => sleep(1000, { signal, clock }));
  group.abort();
  await group.close();
  assert.equal(child.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
});

test('close() - is idempotent', async () => {
  const group = new TaskGroup();
  group.spawn(fail(new Error('x')));
  const first = group.close();
  assert.equal(group.close(), first);
  await assert.rejects(first, TaskGroupError);
});

test('TaskGroup.run() - returns the body result after every child finished', async () => {
  const clock = new VirtualClock();
  let background = false;
  const result = await clock.run(TaskGroup.run(async (group) => {
    group.spawn(async ({ signal }) => {
      await sleep(50, { signal, clock });
      background = true;
    });
    const a = group.spawn(() => 'a');
    const b = group.spawn(async ({ signal }) => {
      await sleep(10, { signal, clock });
      return 'b';
    });
    return [await a, await b];
  }));
  assert.deepEqual(result, ['a', 'b']);
  assert.equal(background, true);
});

test('TaskGroup.run() - a body that uses group.signal is cancelled by a child failure, and only the failure is raised', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  let bodyError: unknown;
  const run = TaskGroup.run(async (group) => {
    group.spawn(async ({ signal }) => {
      await sleep(10, { signal, clock });
      throw boom;
    });
    try {
      await sleep(1000, { signal: group.signal, clock });
    } catch (error) {
      bodyError = error;
      throw error;
    }
  });
  await assert.rejects(clock.run(run), (e) => e instanceof TaskGroupError && e.errors.length === 1 && e.errors[0] === boom);
  assert.ok(bodyError instanceof CancelledError);
  assert.equal(clock.pendingTimers, 0);
});

test('TaskGroup.run() - an error thrown by the body cancels the children and is raised with the failures', async () => {
  const clock = new VirtualClock();
  const bodyError = new Error('body');
  let child: { state: string } | undefined;
  const run = TaskGroup.run(async (group) => {
    child = group.spawn(({ signal }) => sleep(1000, { signal, clock }));
    await null;
    throw bodyError;
  });
  await assert.rejects(run, (e) => e instanceof TaskGroupError && e.errors.length === 1 && e.errors[0] === bodyError);
  assert.equal(child?.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
});

test('TaskGroup.run({ signal }) - an outside abort rejects with the outside reason, not a TaskGroupError', async () => {
  const clock = new VirtualClock();
  const outer = new AbortController();
  const run = TaskGroup.run(async (group) => {
    group.spawn(({ signal }) => sleep(1000, { signal, clock }));
    await sleep(1000, { signal: group.signal, clock });
  }, { signal: outer.signal });
  await clock.advance(5);
  outer.abort(new Error('outside'));
  await assert.rejects(run, /outside/);
  assert.equal(clock.pendingTimers, 0);
});

test('await using - leaving the block waits for the children and raises their failures', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  let finished = false;
  const scope = async () => {
    await using group = new TaskGroup();
    group.spawn(async ({ signal }) => {
      await sleep(20, { signal, clock });
      finished = true;
    });
  };
  await clock.run(scope());
  assert.equal(finished, true);
  const failing = async () => {
    await using group = new TaskGroup();
    group.spawn(fail(boom));
  };
  await assert.rejects(failing(), (e) => e instanceof TaskGroupError && e.errors[0] === boom);
});

test('close() - publishes taskGroupEnd with the number of children and failures', async () => {
  const messages: unknown[] = [];
  const onEnd = (message: unknown) => messages.push(message);
  subscribe('spate:task-group:end', onEnd);
  try {
    const group = new TaskGroup({ name: 'g' });
    group.spawn(async () => 1);
    group.spawn(fail(new Error('x')));
    await group.close().catch(() => {});
    assert.equal(messages.length, 1);
    const message = messages[0] as { group: TaskGroup; children: number; failed: number };
    assert.equal(message.group, group);
    assert.equal(message.children, 2);
    assert.equal(message.failed, 1);
  } finally {
    unsubscribe('spate:task-group:end', onEnd);
  }
});

test('memory - one long-lived group running 1e6 children stays flat', () => {
  const groupUrl = new URL('../../src/core/task-group.ts', import.meta.url).href;
  // Runs in a child process for --expose-gc. Each batch is spawned, then left to settle; the
  // group must keep nothing for finished children.
  const script = `
    import { TaskGroup } from ${JSON.stringify(groupUrl)};
    const group = new TaskGroup();
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const batch = async (n) => {
      for (let i = 0; i < n; i++) group.spawn(async ({ signal }) => { await null; return signal.aborted; });
      while (group.size > 0) await turn();
    };
    for (let i = 0; i < 10; i++) await batch(10000);
    globalThis.gc(); globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 90; i++) await batch(10000);
    globalThis.gc(); globalThis.gc();
    const after = process.memoryUsage().heapUsed;
    await group.close();
    console.log(JSON.stringify({ growth: after - before, size: group.size }));
  `;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  const { growth, size } = JSON.parse(child.stdout.trim()) as { growth: number; size: number };
  assert.equal(size, 0);
  assert.ok(growth < 20 * 1024 * 1024, `heap grew by ${growth} bytes over 900k children`);
});

test('TaskGroup.run() - a body that awaits a failed child reports that failure once', async () => {
  const boom = new Error('boom');
  const run = TaskGroup.run(async (group) => {
    const child = group.spawn(fail(boom));
    return await child;
  });
  await assert.rejects(run, (e) => e instanceof TaskGroupError && e.errors.length === 1 && e.errors[0] === boom);
});

test('unhandled rejections - a failed child nobody awaits is reported only through close()', () => {
  const groupUrl = new URL('../../src/core/task-group.ts', import.meta.url).href;
  const script = `
    import { TaskGroup } from ${JSON.stringify(groupUrl)};
    const reported = [];
    process.on('unhandledRejection', (error) => reported.push(String(error)));
    const group = new TaskGroup();
    group.spawn(async () => { throw new Error('child'); });
    group.spawn(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('while cancelled')))));
    setTimeout(() => group.close().catch((e) => console.log(JSON.stringify({ reported, errors: e.errors.map(String) }))), 10);
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout.trim()), { reported: [], errors: ['Error: child', 'Error: while cancelled'] });
});

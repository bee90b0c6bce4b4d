import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { channels } from '../../src/core/diagnostics.ts';
import { createTask } from '../../src/core/task.ts';
import { TaskGroup } from '../../src/core/task-group.ts';
import { enableDebug, debugScope, type DebugReport } from '../../src/observe/debug.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';

/** A task that stays pending until cancelled, and then settles as 'cancelled'. */
function pendingTask(name: string) {
  return createTask(
    ({ signal }) =>
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    { name },
  );
}

test('debugScope() - reports a task left pending, with its name and creation stack', async () => {
  const reports: DebugReport[] = [];
  let leaked: ReturnType<typeof pendingTask> | undefined;
  const value = await debugScope(async () => {
    leaked = pendingTask('leaky');
    await createTask(async () => 1, { name: 'awaited' });
    return 'done';
  }, { onReport: (r) => reports.push(r), slowCallbackMs: Infinity });
  assert.equal(value, 'done', 'the scope returns what fn returned');
  assert.equal(reports.length, 1);
  const [report] = reports;
  assert.ok(report !== undefined && report.kind === 'pending-tasks');
  assert.equal(report.where, 'scope');
  assert.deepEqual(report.tasks.map((t) => t.name), ['leaky']);
  assert.match(report.tasks[0]!.stack ?? '', /debug\.test\.ts/, 'the stack shows where the task was created');
  assert.match(report.message, /1 task was still pending[\s\S]*leaky/);
  leaked!.cancel();
  await leaked!.then(undefined, () => {});
  assert.equal(channels.taskStart.hasSubscribers, false, 'the scope unsubscribed');
});

test('debugScope() - reports nothing when every task settled; rethrows what fn threw', async () => {
  const reports: DebugReport[] = [];
  const onReport = (r: DebugReport) => reports.push(r);
  await debugScope(async () => {
    const t = pendingTask('cancelled-in-time');
    t.cancel();
    await t.then(undefined, () => {});
  }, { onReport, slowCallbackMs: Infinity });
  const boom = new Error('boom');
  await assert.rejects(debugScope(() => {
    throw boom;
  }, { onReport, slowCallbackMs: Infinity }), (e) => e === boom);
  assert.deepEqual(reports, []);
});

test('debugScope() - tasks of a TaskGroup that closed are never reported', async () => {
  const reports: DebugReport[] = [];
  const sum = await debugScope(async () => {
    const [a, b] = await TaskGroup.run((group) => [group.spawn(async () => 1, { name: 'a' }), group.spawn(async () => 2, { name: 'b' })]);
    return (await a!) + (await b!);
  }, { onReport: (r) => reports.push(r), slowCallbackMs: Infinity });
  assert.equal(sum, 3);
  assert.deepEqual(reports, []);
});

test('debugScope() - only tasks started inside the scope count', async () => {
  const reports: DebugReport[] = [];
  using session = enableDebug({ onReport: (r) => reports.push(r), slowCallbackMs: Infinity });
  const outside = pendingTask('outside');
  await debugScope(() => {}, { onReport: (r) => reports.push(r), slowCallbackMs: Infinity });
  assert.deepEqual(reports, []);
  assert.deepEqual(session.pendingTasks().map((t) => t.name), ['outside']);
  outside.cancel();
  await outside.then(undefined, () => {});
  assert.deepEqual(session.pendingTasks(), []);
});

test('enableDebug() - follows tasks published on the core channels', () => {
  const reports: DebugReport[] = [];
  using session = enableDebug({ onReport: (r) => reports.push(r), slowCallbackMs: Infinity });
  const a = { name: 'a', state: 'pending' };
  const b = { name: 'b', state: 'pending' };
  channels.taskStart.publish({ task: a });
  channels.taskStart.publish({ task: b });
  assert.deepEqual(session.pendingTasks().map((t) => t.name), ['a', 'b']);
  channels.taskEnd.publish({ task: a, state: 'fulfilled' });
  assert.deepEqual(session.pendingTasks().map((t) => t.name), ['b']);
  channels.taskGroupEnd.publish({ group: {}, children: [b], failed: false });
  assert.equal(reports.length, 1);
  assert.ok(reports[0]!.kind === 'pending-tasks' && reports[0]!.where === 'group');
  assert.deepEqual(reports[0]!.tasks.map((t) => t.name), ['b']);
});

test('enableDebug() - reports a callback that blocks the loop longer than slowCallbackMs', async () => {
  const { promise, resolve } = Promise.withResolvers<DebugReport>();
  using _session = enableDebug({ slowCallbackMs: 100, onReport: resolve });
  // A real 150 ms busy loop: blocking the loop is the behaviour under test. Only the report's
  // kind is asserted, never its duration. The ref'd guard timer keeps the process alive while
  // the unref'd detector runs, and fails the test if no report comes.
  const end = performance.now() + 150;
  while (performance.now() < end) {
    // blocking on purpose
  }
  const guard = setTimeout(() => resolve({ kind: 'slow-callback', durationMs: -1, thresholdMs: 0, message: 'no report' }), 5000);
  const report = await promise;
  clearTimeout(guard);
  assert.equal(report.kind, 'slow-callback');
  assert.notEqual(report.message, 'no report');
  assert.match(report.message, /blocked for at least \d+ ms.*stack is not available/);
});

test('disable() - unsubscribes, removes its beforeExit listener and clears its timer', (t) => {
  const live = new Set<unknown>();
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  t.mock.method(globalThis, 'setInterval', (...args: Parameters<typeof setInterval>) => {
    const handle = realSet(...args);
    live.add(handle);
    return handle;
  });
  t.mock.method(globalThis, 'clearInterval', (handle: NodeJS.Timeout) => {
    live.delete(handle);
    realClear(handle);
  });
  const exitListeners = process.listenerCount('beforeExit');
  const session = enableDebug({ onReport: () => {} });
  try {
    assert.equal(channels.taskStart.hasSubscribers, true);
    assert.equal(process.listenerCount('beforeExit'), exitListeners + 1);
    assert.equal(live.size, 1);
  } finally {
    session.disable();
  }
  session.disable();
  assert.equal(session.enabled, false);
  assert.equal(live.size, 0);
  assert.equal(channels.taskStart.hasSubscribers, false);
  assert.equal(channels.taskEnd.hasSubscribers, false);
  assert.equal(channels.taskGroupEnd.hasSubscribers, false);
  assert.equal(process.listenerCount('beforeExit'), exitListeners);
});

test('enableDebug() - at process exit, reports pending tasks as a warning by default', () => {
  const fixture = new URL('./fixtures/leak-at-exit.ts', import.meta.url);
  const child = spawnSync(process.execPath, [fixture.pathname], { timeout: 10_000, encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.match(child.stderr, /SpateDebugWarning: 1 task was still pending when the process was about to exit/);
  assert.match(child.stderr, /leaked-at-exit/);
  assert.match(child.stderr, /leak-at-exit\.ts/, 'with the creation stack');
  assert.equal(child.stderr.match(/SpateDebugWarning/g)?.length, 1, 'reported once');
});

test('enableDebug() - checks its options', () => {
  assert.throws(() => enableDebug({ slowCallbackMs: -1 }), InvalidArgumentError);
  assert.throws(() => enableDebug({ onReport: 1 as unknown as () => void }), InvalidArgumentError);
  assert.equal(channels.taskStart.hasSubscribers, false, 'a failed enableDebug subscribed to nothing');
});

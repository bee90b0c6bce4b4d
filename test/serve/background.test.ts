import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { constantBackoff } from '../../src/core/backoff.ts';
import { ClosedError, InvalidArgumentError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { type BackgroundLogger, BackgroundTasks } from '../../src/serve/background.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

function recordingLogger(): BackgroundLogger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (obj: object, msg: string) => lines.push(`${level} ${msg} ${JSON.stringify({ ...obj, err: undefined })}`);
  return { lines, debug: () => {}, warn: log('warn'), error: log('error') };
}

/** A task that runs until its signal aborts, recording what it sees. */
function untilAborted(events: string[], name: string) {
  return async ({ signal }: { signal: AbortSignal }) => {
    events.push(`${name} started`);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    await turn();
    events.push(`${name} cleaned up`);
  };
}

describe('BackgroundTasks', () => {
  test('nothing runs before start(); start() runs every task with the shared signal', async () => {
    const tasks = new BackgroundTasks();
    const signals: AbortSignal[] = [];
    tasks.add('a', ({ signal }) => signals.push(signal)).add('b', ({ signal }) => signals.push(signal));
    assert.equal(tasks.state, 'idle');
    assert.deepEqual(tasks.stats().map((s) => s.state), ['pending', 'pending']);
    await turn();
    assert.equal(signals.length, 0);
    tasks.start();
    tasks.start();
    await turn();
    assert.equal(signals.length, 2);
    assert.equal(signals[0], tasks.signal);
    assert.equal(signals[1], tasks.signal);
    assert.deepEqual(tasks.stats().map((s) => [s.name, s.state, s.runs]), [['a', 'done', 1], ['b', 'done', 1]]);
    await tasks.stop();
  });

  test('stop() aborts the signal and waits for every task to return', async () => {
    const events: string[] = [];
    const tasks = new BackgroundTasks();
    tasks.add('a', untilAborted(events, 'a')).add('b', untilAborted(events, 'b'));
    tasks.start();
    await turn();
    await tasks.stop();
    assert.equal(tasks.signal.aborted, true);
    assert.ok(tasks.signal.reason instanceof ClosedError);
    assert.deepEqual(events.sort(), ['a cleaned up', 'a started', 'b cleaned up', 'b started']);
    assert.deepEqual(tasks.stats().map((s) => s.state), ['stopped', 'stopped']);
    assert.equal(tasks.stats()[0]!.failures, 0);
  });

  test('a task rejecting with the abort reason after stop() is not a failure', async () => {
    const clock = new VirtualClock();
    const logger = recordingLogger();
    const tasks = new BackgroundTasks({ clock, logger });
    tasks.add('ticker', async ({ signal }) => {
      for (;;) await sleep(1000, { signal, clock });
    });
    tasks.start();
    await clock.advance(3500);
    await tasks.stop();
    assert.deepEqual(tasks.stats().map((s) => [s.state, s.failures]), [['stopped', 0]]);
    assert.deepEqual(logger.lines, []);
    assert.equal(clock.pendingTimers, 0);
  });

  test('a task added after start() starts at once; add() after stop() throws ClosedError', async () => {
    const events: string[] = [];
    const tasks = new BackgroundTasks();
    tasks.start();
    tasks.add('late', untilAborted(events, 'late'));
    await turn();
    assert.deepEqual(events, ['late started']);
    await tasks.stop();
    assert.throws(() => tasks.add('later', () => {}), ClosedError);
  });

  test('stop() before start(): the tasks never run', async () => {
    let ran = false;
    const tasks = new BackgroundTasks();
    tasks.add('never', () => {
      ran = true;
    });
    await tasks.stop();
    tasks.start();
    await turn();
    assert.equal(ran, false);
    assert.deepEqual(tasks.stats().map((s) => s.state), ['stopped']);
  });

  test('a failing task is logged and marked failed; the others keep running', async () => {
    const events: string[] = [];
    const logger = recordingLogger();
    const tasks = new BackgroundTasks({ logger });
    tasks.add('broken', () => {
      throw new Error('no database');
    });
    tasks.add('healthy', untilAborted(events, 'healthy'));
    tasks.start();
    await turn();
    const [broken] = tasks.stats();
    assert.equal(broken!.state, 'failed');
    assert.equal(broken!.failures, 1);
    assert.equal((broken!.lastError as Error).message, 'no database');
    assert.equal(logger.lines.length, 1);
    assert.match(logger.lines[0]!, /^error background task failed .*"task":"broken"/);
    assert.equal(tasks.stats()[1]!.state, 'running');
    await tasks.stop();
    assert.deepEqual(events, ['healthy started', 'healthy cleaned up']);
  });

  test('restart: \'on-failure\' runs the task again after its backoff', async () => {
    const clock = new VirtualClock();
    let runs = 0;
    const tasks = new BackgroundTasks({ clock });
    tasks.add('flaky', async ({ signal }) => {
      runs++;
      if (runs < 3) throw new Error(`failure ${runs}`);
      await sleep(Infinity, { signal });
    }, { restart: 'on-failure', backoff: constantBackoff(500) });
    tasks.start();
    await turn();
    assert.equal(runs, 1);
    assert.equal(tasks.stats()[0]!.state, 'backoff');
    await clock.advance(499);
    assert.equal(runs, 1);
    await clock.advance(1);
    assert.equal(runs, 2);
    await clock.advance(500);
    assert.equal(runs, 3);
    assert.deepEqual(tasks.stats().map((s) => [s.state, s.runs, s.failures]), [['running', 3, 2]]);
    await tasks.stop();
    assert.equal(tasks.stats()[0]!.state, 'stopped');
    assert.equal(clock.pendingTimers, 0);
  });

  test('stop() during a restart backoff ends the wait at once', async () => {
    const clock = new VirtualClock();
    const tasks = new BackgroundTasks({ clock });
    tasks.add('doomed', () => Promise.reject(new Error('always')), { restart: 'on-failure', backoff: constantBackoff(60_000) });
    tasks.start();
    await turn();
    assert.equal(clock.pendingTimers, 1);
    await tasks.stop();
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(tasks.stats().map((s) => [s.state, s.runs]), [['stopped', 1]]);
  });

  test('stop() gives up on a task that ignores its signal after graceMs, and says so', async () => {
    const clock = new VirtualClock();
    const logger = recordingLogger();
    const tasks = new BackgroundTasks({ clock, logger });
    tasks.add('stubborn', () => new Promise(() => {}));
    tasks.start();
    let stopped = false;
    const first = tasks.stop({ graceMs: 2000 });
    assert.equal(tasks.stop(), first);
    const stopping = first.then(() => {
      stopped = true;
    });
    await clock.advance(1999);
    assert.equal(stopped, false);
    await clock.advance(1);
    await stopping;
    assert.equal(stopped, true);
    assert.match(logger.lines.join('\n'), /^warn background task did not stop within the grace period .*"task":"stubborn"/m);
    assert.equal(clock.pendingTimers, 0);
  });

  test('await using stops the tasks', async () => {
    const events: string[] = [];
    {
      await using tasks = new BackgroundTasks();
      tasks.add('scoped', untilAborted(events, 'scoped'));
      tasks.start();
      await turn();
    }
    assert.deepEqual(events, ['scoped started', 'scoped cleaned up']);
  });

  test('add() validates its arguments', () => {
    const tasks = new BackgroundTasks();
    assert.throws(() => tasks.add('', () => {}), InvalidArgumentError);
    assert.throws(() => tasks.add('x', 'nope' as never), InvalidArgumentError);
    assert.throws(() => tasks.add('x', () => {}, { restart: 'always' as never }), InvalidArgumentError);
    assert.throws(() => tasks.add('x', () => {}, { backoff: 5 as never }), InvalidArgumentError);
    assert.throws(() => tasks.stop({ graceMs: -1 }), InvalidArgumentError);
  });
});

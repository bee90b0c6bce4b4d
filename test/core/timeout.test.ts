import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moveOnAfter, moveOnAt, timeout, timeoutAt, waitFor } from '../../src/core/timeout.ts';
import { createTask } from '../../src/core/task.ts';
import { InvalidArgumentError, TimeoutError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { countListeners } from '../helpers/listeners.ts';

test('timeout() - returns the value and clears its timer when fn finishes first', async () => {
  const clock = new VirtualClock();
  const result = timeout(100, async ({ signal }) => {
    await sleep(40, { signal, clock });
    return 'fast';
  }, { clock });
  await clock.advance(40);
  assert.equal(await result, 'fast');
  assert.equal(clock.pendingTimers, 0);
});

test('timeout() - at the deadline aborts fn\'s signal and rejects with TimeoutError', async () => {
  const clock = new VirtualClock();
  let seen: AbortSignal | undefined;
  let settled = false;
  const result = timeout(100, ({ signal }) => {
    seen = signal;
    return sleep(1000, { signal, clock });
  }, { clock });
  result.catch(() => {}).finally(() => (settled = true));
  await clock.advance(99);
  assert.equal(settled, false);
  await clock.advance(1);
  await assert.rejects(result, (e) => e instanceof TimeoutError && e === seen?.reason);
  assert.equal(clock.pendingTimers, 0);
});

test('timeout() - waits for fn to settle after the deadline, then reports TimeoutError whatever fn rejected with', async () => {
  const clock = new VirtualClock();
  const abortError = new DOMException('aborted', 'AbortError');
  let settled = false;
  const result = timeout(10, async ({ signal }) => {
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    await sleep(5, { clock });
    throw abortError;
  }, { clock });
  result.catch(() => {}).finally(() => (settled = true));
  await clock.advance(10);
  assert.equal(settled, false);
  await clock.advance(5);
  await assert.rejects(result, (e) => e instanceof TimeoutError && e.cause === abortError);
});

test('timeout() - a failure before the deadline passes through unchanged', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  await assert.rejects(timeout(100, async () => {
    throw boom;
  }, { clock }), (e) => e === boom);
  assert.equal(clock.pendingTimers, 0);
});

test('timeout() - nested: the inner deadline fires first and the inner TimeoutError is reported', async () => {
  const clock = new VirtualClock();
  let innerError: unknown;
  const result = timeout(100, async (outer) => {
    try {
      return await timeout(10, ({ signal }) => sleep(1000, { signal, clock }), { signal: outer.signal, clock });
    } catch (error) {
      innerError = error;
      throw error;
    }
  }, { clock });
  result.catch(() => {}); // observed now; asserted below
  await clock.advance(10);
  await assert.rejects(result, (e) => e === innerError && (e as Error).message === 'Timed out after 10 ms');
  assert.equal(clock.pendingTimers, 0);
});

test('timeout() - nested: the outer deadline fires first and the outer TimeoutError is reported, even after the inner deadline passes', async () => {
  const clock = new VirtualClock();
  let outerSignal: AbortSignal | undefined;
  const result = timeout(10, async (outer) => {
    outerSignal = outer.signal;
    // The inner work takes 60 ms to stop once aborted, so the inner timer (at 50) would also
    // pass before it settles if it were still armed.
    return timeout(50, async ({ signal }) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      await sleep(60, { clock });
      throw signal.reason;
    }, { signal: outer.signal, clock });
  }, { clock });
  result.catch(() => {});
  await clock.advance(100);
  await assert.rejects(result, (e) => e instanceof TimeoutError && e === outerSignal?.reason && e.message === 'Timed out after 10 ms');
  assert.equal(clock.pendingTimers, 0);
});

test('timeout({ signal }) - the caller\'s abort reaches fn and the call rejects with its reason', async () => {
  const clock = new VirtualClock();
  const caller = new AbortController();
  const counts = countListeners(caller.signal);
  const result = timeout(100, ({ signal }) => sleep(1000, { signal, clock }), { signal: caller.signal, clock });
  caller.abort('cancelled by caller');
  await assert.rejects(result, (e) => e === 'cancelled by caller');
  assert.equal(clock.pendingTimers, 0);
  assert.equal(counts.added, 1);
});

test('timeout({ signal }) - removes its listener from the caller signal when it settles', async () => {
  const clock = new VirtualClock();
  const caller = new AbortController();
  const counts = countListeners(caller.signal);
  await timeout(100, async () => 1, { signal: caller.signal, clock });
  assert.equal(counts.added, 1);
  assert.equal(counts.removed, 1);
});

test('timeout() - an already-aborted signal rejects without calling fn or setting a timer', async () => {
  const clock = new VirtualClock();
  let called = false;
  await assert.rejects(timeout(100, () => (called = true), { signal: AbortSignal.abort('x'), clock }), (e) => e === 'x');
  assert.equal(called, false);
  assert.equal(clock.pendingTimers, 0);
});

test('timeout() - rejects bad arguments synchronously', () => {
  assert.throws(() => timeout(-1, async () => 1), InvalidArgumentError);
  assert.throws(() => timeout(1, 'nope' as never), InvalidArgumentError);
});

test('timeout() - uses the installed default clock', async () => {
  const clock = new VirtualClock();
  using _ = clock.install();
  const result = timeout(30, ({ signal }) => sleep(100, { signal }));
  result.catch(() => {}); // observed now; asserted below
  await clock.advance(30);
  await assert.rejects(result, TimeoutError);
});

test('timeoutAt() - the deadline is absolute on the clock', async () => {
  const clock = new VirtualClock(1000);
  const result = timeoutAt(1050, ({ signal }) => sleep(100, { signal, clock }), { clock });
  result.catch(() => {}); // observed now; asserted below
  await clock.advance(49);
  assert.equal(clock.pendingTimers, 2);
  await clock.advance(1);
  await assert.rejects(result, TimeoutError);
  assert.equal(clock.pendingTimers, 0);
});

test('timeoutAt() - a deadline already past times out at once', async () => {
  const clock = new VirtualClock(1000);
  const result = timeoutAt(500, ({ signal }) => sleep(100, { signal, clock }), { clock });
  result.catch(() => {}); // observed now; asserted below
  await clock.advance(0);
  await assert.rejects(result, TimeoutError);
});

test('moveOnAfter() - resolves undefined on expiry and the value otherwise', async () => {
  const clock = new VirtualClock();
  const slow = moveOnAfter(10, async ({ signal }) => {
    await sleep(100, { signal, clock });
    return 'slow';
  }, { clock });
  const fast = moveOnAfter(10, async () => 'fast', { clock });
  await clock.advance(10);
  assert.equal(await slow, undefined);
  assert.equal(await fast, 'fast');
  assert.equal(clock.pendingTimers, 0);
});

test('moveOnAfter() - a failure before the deadline still rejects', async () => {
  const clock = new VirtualClock();
  await assert.rejects(moveOnAfter(10, async () => {
    throw new Error('real');
  }, { clock }), /real/);
});

test('moveOnAt() - gives up quietly at an absolute deadline', async () => {
  const clock = new VirtualClock(200);
  const result = moveOnAt(250, ({ signal }) => sleep(100, { signal, clock }), { clock });
  await clock.advance(50);
  assert.equal(await result, undefined);
  assert.equal(clock.pendingTimers, 0);
});

test('moveOnAfter() inside timeout() - the outer expiry is not swallowed by the inner move-on', async () => {
  const clock = new VirtualClock();
  const result = timeout(10, (outer) => moveOnAfter(50, ({ signal }) => sleep(100, { signal, clock }), { signal: outer.signal, clock }), { clock });
  result.catch(() => {}); // observed now; asserted below
  await clock.advance(10);
  await assert.rejects(result, (e) => e instanceof TimeoutError && e.message === 'Timed out after 10 ms');
});

test('waitFor() - on expiry cancels a Task and rejects with TimeoutError once the task has stopped', async () => {
  const clock = new VirtualClock();
  let cleanedUp = false;
  const task = createTask(async ({ signal }) => {
    try {
      await sleep(1000, { signal, clock });
    } finally {
      await sleep(5, { clock });
      cleanedUp = true;
    }
  });
  const result = waitFor(task, 20, { clock });
  let settled = false;
  result.catch(() => {}).finally(() => (settled = true));
  await clock.advance(20);
  assert.equal(settled, false);
  assert.equal(task.signal.reason instanceof TimeoutError, true);
  await clock.advance(5);
  await assert.rejects(result, TimeoutError);
  assert.equal(cleanedUp, true);
  assert.equal(task.state, 'cancelled');
  assert.equal(clock.pendingTimers, 0);
});

test('waitFor() - a Task that finishes anyway after the expiry still reports the TimeoutError', async () => {
  const clock = new VirtualClock();
  const task = createTask(async () => {
    await sleep(30, { clock }); // ignores its signal
    return 'done anyway';
  });
  const result = waitFor(task, 20, { clock });
  result.catch(() => {});
  await clock.advance(30);
  await assert.rejects(result, TimeoutError);
  assert.equal(await task, 'done anyway');
});

test('waitFor() - a plain promise runs on after the expiry', async () => {
  const clock = new VirtualClock();
  const work = sleep(50, { clock }).then(() => 'late');
  const result = waitFor(work, 20, { clock });
  result.catch(() => {}); // observed now; asserted below
  await clock.advance(20);
  await assert.rejects(result, TimeoutError);
  await clock.advance(30);
  assert.equal(await work, 'late');
});

test('waitFor() - resolves with the value and clears the timer and listener', async () => {
  const clock = new VirtualClock();
  const caller = new AbortController();
  const counts = countListeners(caller.signal);
  const result = waitFor(sleep(5, { clock }).then(() => 1), 20, { clock, signal: caller.signal });
  await clock.advance(5);
  assert.equal(await result, 1);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(counts.added, counts.removed);
});

test('waitFor({ signal }) - the caller\'s abort rejects with its reason and cancels a Task', async () => {
  const clock = new VirtualClock();
  const caller = new AbortController();
  const task = createTask(({ signal }) => sleep(1000, { signal, clock }));
  const result = waitFor(task, 100, { clock, signal: caller.signal });
  caller.abort('stop');
  await assert.rejects(result, (e) => e === 'stop');
  await assert.rejects(task, (e) => e === 'stop');
  assert.equal(task.cancelled(), true);
  assert.equal(clock.pendingTimers, 0);
});

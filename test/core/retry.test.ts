import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { constantBackoff, exponentialBackoff } from '../../src/core/backoff.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { retry, retryAttempts, withRetry, type RetryEvent } from '../../src/core/retry.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

class HttpError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

/** An operation that fails `failures` times, then returns 'ok'; records when it was called. */
function flaky(clock: VirtualClock, failures: number, make: (n: number) => unknown = (n) => new Error(`fail ${n}`)) {
  const calls: { at: number; attempt: number; signal: AbortSignal }[] = [];
  const fn = async ({ attempt, signal }: { attempt: number; signal: AbortSignal }) => {
    calls.push({ at: clock.now(), attempt, signal });
    if (calls.length <= failures) throw make(calls.length);
    return 'ok';
  };
  return { fn, calls };
}

test('retry() - retries until success, waiting the backoff between attempts', async () => {
  const clock = new VirtualClock();
  const { fn, calls } = flaky(clock, 3);
  const backoff = exponentialBackoff({ base: 100, random: () => 0.5 });
  const result = await clock.run(retry(fn, { clock, backoff }));
  assert.equal(result, 'ok');
  assert.deepEqual(calls.map((c) => c.attempt), [1, 2, 3, 4]);
  // Delays 50, 100, 200: half of the ceilings 100, 200, 400.
  assert.deepEqual(calls.map((c) => c.at), [0, 50, 150, 350]);
  assert.equal(clock.pendingTimers, 0);
});

test('retry() - gives up after `retries` retries and rethrows the last error unchanged', async () => {
  const clock = new VirtualClock();
  const { fn, calls } = flaky(clock, 10, (n) => new HttpError(500 + n));
  const events: RetryEvent[] = [];
  const p = retry(fn, { clock, retries: 2, backoff: constantBackoff(10), onRetry: (e) => events.push(e) });
  const error = await clock.run(p).catch((e: unknown) => e);
  assert.ok(error instanceof HttpError);
  assert.equal(error.status, 503);
  assert.equal(error.message, 'HTTP 503');
  assert.equal(calls.length, 3);
  assert.equal(retryAttempts(error), 3);
  assert.deepEqual(Object.keys(error), ['status'], 'nothing is written onto the error');
  assert.deepEqual(events.map((e) => [e.attempt, e.delay, (e.error as HttpError).status]), [[1, 10, 501], [2, 10, 502]]);
});

test('retry() - retries: 0 calls once; a frozen or primitive error still comes back as is', async () => {
  const clock = new VirtualClock();
  const frozen = Object.freeze(new Error('cold'));
  let calls = 0;
  await assert.rejects(retry(() => { calls++; throw frozen; }, { clock, retries: 0 }), (e) => e === frozen);
  assert.equal(calls, 1);
  assert.equal(retryAttempts(frozen), 1);
  await assert.rejects(retry(() => { throw 'plain'; }, { clock, retries: 0 }), (e) => e === 'plain');
  assert.equal(retryAttempts('plain'), undefined);
});

test('retry() - retryOn false stops at once; it sees each error and attempt number', async () => {
  const clock = new VirtualClock();
  const { fn, calls } = flaky(clock, 10, (n) => new HttpError(n === 1 ? 503 : 404));
  const seen: [number, number][] = [];
  const p = retry(fn, {
    clock,
    backoff: constantBackoff(5),
    retryOn: (e, attempt) => {
      seen.push([(e as HttpError).status, attempt]);
      return (e as HttpError).status >= 500;
    },
  });
  await assert.rejects(clock.run(p), (e: unknown) => e instanceof HttpError && e.status === 404);
  assert.equal(calls.length, 2);
  assert.deepEqual(seen, [[503, 1], [404, 2]]);
  assert.equal(clock.pendingTimers, 0);
});

test('retry() - a number from retryOn overrides the backoff delay (Retry-After)', async () => {
  const clock = new VirtualClock();
  const { fn, calls } = flaky(clock, 2);
  await clock.run(retry(fn, { clock, backoff: constantBackoff(1), retryOn: () => 2000 }));
  assert.deepEqual(calls.map((c) => c.at), [0, 2000, 4000]);
});

test('retry() - a delay above maxDelay rethrows instead of waiting', async () => {
  const clock = new VirtualClock();
  const { fn, calls } = flaky(clock, 5);
  const p = retry(fn, { clock, retryOn: (_e, attempt) => (attempt === 1 ? 100 : 60_000), maxDelay: 10_000 });
  await assert.rejects(clock.run(p), /fail 2/);
  assert.deepEqual(calls.map((c) => c.at), [0, 100]);
  assert.equal(clock.pendingTimers, 0);
});

test('retry() - an abort during the backoff wait rejects at once with the reason and leaves no timer', async () => {
  const clock = new VirtualClock();
  const { fn, calls } = flaky(clock, 10);
  const ac = new AbortController();
  const p = retry(fn, { clock, signal: ac.signal, backoff: constantBackoff(60_000) });
  await clock.flush();
  assert.equal(calls.length, 1);
  assert.equal(clock.pendingTimers, 1, 'waiting the backoff');
  const reason = new Error('shutdown');
  let outcome: unknown = 'pending';
  p.catch((e: unknown) => (outcome = e));
  ac.abort(reason);
  await clock.flush();
  assert.equal(outcome, reason, 'rejected at once, without the clock moving');
  assert.equal(clock.now(), 0);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(calls.length, 1, 'never retried after the abort');
});

test('retry() - an abort during an attempt is not retried, and the attempt sees the signal', async () => {
  const clock = new VirtualClock();
  const ac = new AbortController();
  let calls = 0;
  const p = retry(({ signal }) => {
    calls++;
    assert.equal(signal, ac.signal);
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted inside'))));
  }, { clock, signal: ac.signal });
  ac.abort('stop');
  await assert.rejects(p, (e) => e === 'stop');
  assert.equal(calls, 1);
  assert.equal(clock.pendingTimers, 0);
});

test('retry() - an already-aborted signal never calls fn', async () => {
  let calls = 0;
  await assert.rejects(retry(() => calls++, { signal: AbortSignal.abort('early') }), (e) => e === 'early');
  assert.equal(calls, 0);
});

test('retry() - without a signal each attempt still gets a live AbortSignal', async () => {
  const clock = new VirtualClock();
  const { fn, calls } = flaky(clock, 1);
  await clock.run(retry(fn, { clock, backoff: constantBackoff(0) }));
  assert.ok(calls[0]!.signal instanceof AbortSignal);
  assert.equal(calls[0]!.signal.aborted, false);
});

test('retry() - publishes each retry on channels.retry', async () => {
  const clock = new VirtualClock();
  const { fn } = flaky(clock, 2);
  const seen: unknown[] = [];
  const listener = (message: unknown) => seen.push((message as { attempt: number; delay: number }).attempt);
  subscribe('spate:retry', listener);
  try {
    await clock.run(retry(fn, { clock, backoff: constantBackoff(1) }));
  } finally {
    unsubscribe('spate:retry', listener);
  }
  assert.deepEqual(seen, [1, 2]);
});

test('retry() - rejects bad options synchronously with a clear error', () => {
  assert.throws(() => retry(() => 1, { retries: -1 }), /Expected `retries` to be an integer ≥ 0 or Infinity, got -1/);
  assert.throws(() => retry(() => 1, { maxDelay: -5 }), InvalidArgumentError);
  assert.throws(() => withRetry(() => 1, { retries: 1.5 }), InvalidArgumentError);
});

test('withRetry() - each call is one retry run on that call\'s signal', async () => {
  const clock = new VirtualClock();
  let calls = 0;
  const wrapped = withRetry(async ({ attempt }) => {
    calls++;
    if (attempt < 3) throw new Error('again');
    return attempt;
  }, { clock, backoff: constantBackoff(10) });
  assert.equal(await clock.run(wrapped()), 3);
  assert.equal(await clock.run(wrapped({})), 3);
  assert.equal(calls, 6);
  const ac = new AbortController();
  const p = wrapped({ signal: ac.signal });
  ac.abort('gone');
  await assert.rejects(p, (e) => e === 'gone');
  assert.equal(clock.pendingTimers, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { CircuitBreaker, type CircuitStateChange } from '../../src/core/circuit-breaker.ts';
import { CircuitOpenError, InvalidArgumentError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

const ok = async () => 'ok';
const boom = async () => {
  throw new Error('boom');
};

async function fail(breaker: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await assert.rejects(breaker.execute(boom), /boom/);
}

test('CircuitBreaker - full cycle: closed → open → half-open → closed', async () => {
  const clock = new VirtualClock();
  const changes: CircuitStateChange[] = [];
  const breaker = new CircuitBreaker({ clock, minimumRequests: 4, cooldownMs: 1000, onStateChange: (c) => changes.push(c) });
  assert.equal(breaker.state, 'closed');
  await breaker.execute(ok);
  await breaker.execute(ok);
  await fail(breaker);
  assert.equal(breaker.state, 'closed', '1 of 3 failed, under the minimum volume');
  await fail(breaker);
  assert.equal(breaker.state, 'open', '2 of 4 failed: rate 0.5 reached');

  let called = false;
  const error = await breaker.execute(async () => (called = true)).catch((e: unknown) => e);
  assert.ok(error instanceof CircuitOpenError);
  assert.equal(error.retryAt, 1000);
  assert.equal(called, false, 'an open breaker does not call fn');

  await clock.advance(999);
  assert.equal(breaker.state, 'open');
  await clock.advance(1);
  assert.equal(breaker.state, 'half-open');
  assert.equal(await breaker.execute(ok), 'ok');
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(changes, [
    { from: 'closed', to: 'open' },
    { from: 'open', to: 'half-open' },
    { from: 'half-open', to: 'closed' },
  ]);
  assert.equal(breaker.stats().calls, 0, 'closing starts a fresh window');
  assert.equal(clock.pendingTimers, 0, 'the breaker never sets a timer');
});

test('CircuitBreaker - a failed probe opens the breaker again for another cooldown', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 1, cooldownMs: 500 });
  await fail(breaker);
  assert.equal(breaker.state, 'open');
  await clock.advance(500);
  await fail(breaker);
  assert.equal(breaker.state, 'open');
  const error = await breaker.execute(ok).catch((e: unknown) => e);
  assert.ok(error instanceof CircuitOpenError);
  assert.equal(error.retryAt, 1000);
});

test('CircuitBreaker - minimumRequests is respected: failures alone do not open an empty window', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 5, failureRateThreshold: 0.5 });
  await fail(breaker, 4);
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.stats().failureRate, 1);
  await fail(breaker);
  assert.equal(breaker.state, 'open');
});

test('CircuitBreaker - outcomes age out of the rolling window', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 4, windowMs: 1000, buckets: 10 });
  await fail(breaker, 3);
  await clock.advance(1000);
  assert.equal(breaker.stats().calls, 0);
  await fail(breaker);
  assert.equal(breaker.state, 'closed', 'the three old failures no longer count');
  await clock.advance(500);
  await fail(breaker, 2);
  await breaker.execute(ok);
  assert.equal(breaker.stats().calls, 4);
  assert.equal(breaker.state, 'open', '3 of 4 within the window');
});

test('CircuitBreaker - half-open lets halfOpenMaxProbes through at once, others get CircuitOpenError', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 1, cooldownMs: 100, halfOpenMaxProbes: 2 });
  await fail(breaker);
  await clock.advance(100);
  const gates: (() => void)[] = [];
  const probe = () => breaker.execute(() => new Promise<string>((resolve) => gates.push(() => resolve('probed'))));
  const p1 = probe();
  const p2 = probe();
  await assert.rejects(probe(), CircuitOpenError);
  assert.equal(breaker.stats().probes, 2);
  gates[0]!();
  assert.equal(await p1, 'probed');
  assert.equal(breaker.state, 'half-open', 'successesToClose defaults to halfOpenMaxProbes (2)');
  const p3 = probe();
  gates[1]!();
  gates[2]!();
  await Promise.all([p2, p3]);
  assert.equal(breaker.state, 'closed');
});

test('CircuitBreaker - outcomes of calls started in an earlier state are ignored', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 2 });
  let release!: () => void;
  const slow = breaker.execute(() => new Promise<void>((_, reject) => (release = () => reject(new Error('late')))));
  await fail(breaker, 2);
  assert.equal(breaker.state, 'open');
  breaker.reset();
  release();
  await assert.rejects(slow, /late/);
  assert.equal(breaker.stats().calls, 0, 'the late failure is not counted in the fresh window');
});

test('CircuitBreaker - an abort by the caller\'s own signal is neither failure nor success', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 1, cooldownMs: 10 });
  const ac = new AbortController();
  const p = breaker.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: ac.signal });
  ac.abort('user left');
  await assert.rejects(p, (e) => e === 'user left');
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.stats().calls, 0);

  // In half-open, an aborted probe gives its slot back.
  await fail(breaker);
  await clock.advance(10);
  const probeAbort = new AbortController();
  const probe = breaker.execute(({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: probeAbort.signal });
  await assert.rejects(breaker.execute(ok), CircuitOpenError);
  probeAbort.abort('gone');
  await assert.rejects(probe, (e) => e === 'gone');
  assert.equal(breaker.state, 'half-open');
  assert.equal(await breaker.execute(ok), 'ok');
  assert.equal(breaker.state, 'closed');
});

test('CircuitBreaker - isFailure false counts the error as a success and still rethrows it', async () => {
  class NotFound extends Error {}
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 2, isFailure: (e) => !(e instanceof NotFound) });
  for (let i = 0; i < 5; i++) {
    await assert.rejects(breaker.execute(async () => {
      throw new NotFound();
    }), NotFound);
  }
  await fail(breaker, 4);
  assert.equal(breaker.state, 'closed', '4 failures of 9');
  await fail(breaker);
  assert.equal(breaker.state, 'open', '5 of 10');
});

test('CircuitBreaker - each call gets its own signal', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock });
  const signals: AbortSignal[] = [];
  const record = async ({ signal }: { signal: AbortSignal }) => void signals.push(signal);
  const ac = new AbortController();
  await breaker.execute(record, { signal: ac.signal });
  await breaker.execute(record);
  await breaker.execute(record);
  assert.equal(signals[0], ac.signal);
  assert.notEqual(signals[1], signals[2]);
  assert.equal(signals[1]!.aborted, false);
});

test('CircuitBreaker - trip() forces open, reset() closes', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, cooldownMs: 50 });
  breaker.trip();
  assert.equal(breaker.state, 'open');
  assert.equal(breaker.stats().retryAt, 50);
  await assert.rejects(breaker.execute(ok), CircuitOpenError);
  assert.equal(breaker.stats().rejected, 1);
  breaker.reset();
  assert.equal(breaker.state, 'closed');
  assert.equal(await breaker.execute(ok), 'ok');
});

test('CircuitBreaker - wrap() composes and publishes state changes on channels.breakerState', async () => {
  const clock = new VirtualClock();
  const breaker = new CircuitBreaker({ clock, minimumRequests: 1 });
  const seen: string[] = [];
  const listener = (m: unknown) => {
    const { breaker: b, from, to } = m as { breaker: unknown; from: string; to: string };
    if (b === breaker) seen.push(`${from}→${to}`);
  };
  subscribe('spate:circuit-breaker:state', listener);
  try {
    const wrapped = breaker.wrap(boom);
    await assert.rejects(wrapped(), /boom/);
    await assert.rejects(wrapped({}), CircuitOpenError);
  } finally {
    unsubscribe('spate:circuit-breaker:state', listener);
  }
  assert.deepEqual(seen, ['closed→open']);
});

test('CircuitBreaker - rejects bad options with a clear error', () => {
  assert.throws(() => new CircuitBreaker({ failureRateThreshold: 0 }), /`failureRateThreshold` to be a number in \(0, 1\], got 0/);
  assert.throws(() => new CircuitBreaker({ minimumRequests: 0 }), InvalidArgumentError);
  assert.throws(() => new CircuitBreaker({ windowMs: 0 }), InvalidArgumentError);
  assert.throws(() => new CircuitBreaker({ halfOpenMaxProbes: 1.5 }), InvalidArgumentError);
});

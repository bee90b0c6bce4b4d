import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constantBackoff } from '../../src/core/backoff.ts';
import { CircuitBreaker } from '../../src/core/circuit-breaker.ts';
import { CircuitOpenError } from '../../src/core/errors.ts';
import { compose } from '../../src/core/policy.ts';
import { RateLimiter } from '../../src/core/rate-limiter.ts';
import { withRetry } from '../../src/core/retry.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

test('wrappers compose: breaker(retry(limiter(fn))) rate-limits every attempt and counts one outcome per call', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 1, interval: 100, clock });
  const breaker = new CircuitBreaker({ clock, minimumRequests: 2 });
  const attempts: number[] = [];
  const signals = new Set<AbortSignal>();
  const fn = async ({ signal }: { signal: AbortSignal }) => {
    attempts.push(clock.now());
    signals.add(signal);
    throw new Error('down');
  };
  const call = breaker.wrap(withRetry(limiter.wrap(fn), { retries: 2, backoff: constantBackoff(0), clock }));
  const ac = new AbortController();
  await assert.rejects(clock.run(call({ signal: ac.signal })), /down/);
  assert.deepEqual(attempts, [0, 100, 200], 'each attempt waited for the limiter');
  assert.deepEqual([...signals], [ac.signal], 'the caller\'s signal reached the innermost function');
  assert.equal(breaker.stats().calls, 1);
  await assert.rejects(clock.run(call()), /down/);
  await assert.rejects(call(), CircuitOpenError);
  assert.equal(clock.pendingTimers, 0);
});

test('compose() - applies policies outermost first, plain functions included', async () => {
  const order: string[] = [];
  const tag = (name: string) => ({
    wrap: <T>(fn: (ctx: { signal: AbortSignal }) => T | PromiseLike<T>) => async (ctx?: { signal?: AbortSignal | undefined }) => {
      order.push(name);
      return fn({ signal: ctx?.signal ?? new AbortController().signal });
    },
  });
  const guarded = compose(tag('outer'), (fn) => tag('middle').wrap(fn), tag('inner'))(async () => 42);
  assert.equal(await guarded(), 42);
  assert.deepEqual(order, ['outer', 'middle', 'inner']);
});

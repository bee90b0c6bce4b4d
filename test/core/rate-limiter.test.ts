import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, TimeoutError } from '../../src/core/errors.ts';
import { RateLimiter } from '../../src/core/rate-limiter.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

/** Asserts no half-open window of `interval` holds more than `limit` of the (sorted) times. */
function assertNoWindowOverflows(times: number[], limit: number, interval: number): void {
  for (let i = 0; i + limit < times.length; i++) {
    assert.ok(times[i + limit]! - times[i]! >= interval, `grants ${i}..${i + limit} at ${times[i]}..${times[i + limit]} fit in ${interval} ms`);
  }
}

test('RateLimiter - a burst is exact: no window of `interval` ever holds more than `limit` grants', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 5, interval: 1000, clock });
  const grants: number[] = [];
  const all = Array.from({ length: 23 }, () => limiter.acquire().then(() => grants.push(clock.now())));
  await clock.run(Promise.all(all));
  assert.equal(grants.length, 23);
  assertNoWindowOverflows(grants, 5, 1000);
  assert.deepEqual(grants, [0, 0, 0, 0, 0, 1000, 1000, 1000, 1000, 1000, 2000, 2000, 2000, 2000, 2000, 3000, 3000, 3000, 3000, 3000, 4000, 4000, 4000]);
  assert.equal(clock.pendingTimers, 0);
});

test('RateLimiter - exact under irregular arrivals at the window edges (where a token bucket lets 2× through)', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 3, interval: 100, clock });
  const grants: number[] = [];
  const take = () => limiter.acquire().then(() => grants.push(clock.now()));
  const pending: Promise<unknown>[] = [];
  // Three late in one window, then a burst right after its edge, then a trickle.
  await clock.advance(90);
  for (let i = 0; i < 3; i++) pending.push(take());
  await clock.advance(15);
  for (let i = 0; i < 6; i++) pending.push(take());
  for (let i = 0; i < 5; i++) {
    await clock.advance(37);
    pending.push(take());
  }
  await clock.run(Promise.all(pending));
  assertNoWindowOverflows(grants, 3, 100);
  assert.deepEqual(grants.slice(0, 6), [90, 90, 90, 190, 190, 190]);
  for (let i = 1; i < grants.length; i++) assert.ok(grants[i]! >= grants[i - 1]!);
});

test('RateLimiter - tryAcquire() takes free grants and never waits', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 2, interval: 50, clock });
  assert.equal(limiter.tryAcquire(), true);
  assert.equal(limiter.tryAcquire(), true);
  assert.equal(limiter.tryAcquire(), false);
  await clock.advance(49);
  assert.equal(limiter.tryAcquire(), false);
  await clock.advance(1);
  assert.equal(limiter.tryAcquire(), true);
  assert.equal(clock.pendingTimers, 0);
});

test('RateLimiter - waiters are served FIFO and tryAcquire() does not barge past them', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 1, interval: 10, clock });
  const order: number[] = [];
  limiter.tryAcquire();
  const all = [1, 2, 3, 4].map((n) => limiter.acquire().then(() => order.push(n)));
  await clock.advance(10);
  assert.deepEqual(order, [1]);
  assert.equal(limiter.tryAcquire(), false, 'a grant is free only for the next waiter');
  await clock.run(Promise.all(all));
  assert.deepEqual(order, [1, 2, 3, 4]);
});

test('RateLimiter - only one timer is armed, for the head waiter, and none once nobody waits', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 2, interval: 100, clock });
  const all = Array.from({ length: 10 }, () => limiter.acquire());
  await clock.flush();
  assert.equal(clock.pendingTimers, 1);
  assert.equal(limiter.stats().waiting, 8);
  await clock.advance(100);
  assert.equal(clock.pendingTimers, 1);
  await clock.run(Promise.all(all));
  assert.equal(clock.pendingTimers, 0);
});

test('RateLimiter - a cancelled waiter frees its place; cancelling the head moves the timer on', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 1, interval: 100, clock });
  limiter.tryAcquire();
  const a = new AbortController();
  const b = new AbortController();
  const order: string[] = [];
  const pa = limiter.acquire({ signal: a.signal }).then(() => order.push('a'));
  const pb = limiter.acquire({ signal: b.signal }).then(() => order.push('b'));
  const pc = limiter.acquire().then(() => order.push('c'));
  b.abort('b out');
  await assert.rejects(pb, (e) => e === 'b out');
  a.abort('a out');
  await assert.rejects(pa, (e) => e === 'a out');
  assert.equal(limiter.stats().waiting, 1);
  assert.equal(clock.pendingTimers, 1);
  await clock.advance(100);
  await pc;
  assert.deepEqual(order, ['c'], 'c got the grant a and b gave up, at the first possible moment');
  assert.equal(clock.now(), 100);
  assert.equal(clock.pendingTimers, 0);
});

test('RateLimiter - cancelling the only waiter clears the timer', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 1, interval: 100, clock });
  limiter.tryAcquire();
  const ac = new AbortController();
  const p = limiter.acquire({ signal: ac.signal });
  assert.equal(clock.pendingTimers, 1);
  ac.abort(new Error('nope'));
  await assert.rejects(p, /nope/);
  assert.equal(clock.pendingTimers, 0);
  assert.equal(limiter.stats().waiting, 0);
  assert.equal(limiter.stats().granted, 1, 'the cancelled waiter took nothing');
});

test('RateLimiter - acquire({ timeout }) rejects with TimeoutError and clears its timers', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 1, interval: 1000, clock });
  limiter.tryAcquire();
  const p = limiter.acquire({ timeout: 200 });
  const rejected = assert.rejects(p, TimeoutError);
  await clock.advance(200);
  await rejected;
  assert.equal(clock.pendingTimers, 0);
  await assert.rejects(limiter.acquire({ timeout: 0 }), TimeoutError);
  await clock.advance(800);
  await limiter.acquire({ timeout: 0 });
});

test('RateLimiter - acquire({ cost }) takes several grants at once, in line', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 4, interval: 100, clock });
  const grants: [string, number][] = [];
  const a = limiter.acquire({ cost: 3 }).then(() => grants.push(['a', clock.now()]));
  const b = limiter.acquire({ cost: 2 }).then(() => grants.push(['b', clock.now()]));
  const c = limiter.acquire({ cost: 1 }).then(() => grants.push(['c', clock.now()]));
  await clock.run(Promise.all([a, b, c]));
  // b needs 2 of the 4 slots in the window: it waits for two of a's to expire; c fits beside b.
  assert.deepEqual(grants, [['a', 0], ['b', 100], ['c', 100]]);
  assert.throws(() => limiter.tryAcquire(5), /Expected `cost` to be ≤ limit \(4\), got 5/);
});

test('RateLimiter - an already-aborted signal rejects without queueing', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 1, interval: 10, clock });
  await assert.rejects(limiter.acquire({ signal: AbortSignal.abort('x') }), (e) => e === 'x');
  assert.equal(limiter.stats().granted, 0);
});

test('RateLimiter - acquire removes its abort listener once granted', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 1, interval: 10, clock });
  limiter.tryAcquire();
  const ac = new AbortController();
  let added = 0;
  let removed = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...args: Parameters<typeof add>) => (added++, add(...args))) as typeof add;
  ac.signal.removeEventListener = ((...args: Parameters<typeof remove>) => (removed++, remove(...args))) as typeof remove;
  const p = limiter.acquire({ signal: ac.signal });
  await clock.advance(10);
  await p;
  assert.equal(added, 1);
  assert.equal(removed, 1);
});

test('RateLimiter - wrap() runs fn after a grant, passing the call\'s signal', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 2, interval: 100, clock });
  const seen: [number, AbortSignal][] = [];
  const wrapped = limiter.wrap(async ({ signal }) => {
    seen.push([clock.now(), signal]);
    return seen.length;
  });
  const ac = new AbortController();
  const results = await clock.run(Promise.all([wrapped(), wrapped({ signal: ac.signal }), wrapped()]));
  assert.deepEqual(results, [1, 2, 3]);
  assert.deepEqual(seen.map(([at]) => at), [0, 0, 100]);
  assert.equal(seen[1]![1], ac.signal);
});

test('RateLimiter - stats() counts grants still free in the window', async () => {
  const clock = new VirtualClock();
  const limiter = new RateLimiter({ limit: 3, interval: 100, clock });
  assert.deepEqual(limiter.stats(), { limit: 3, interval: 100, available: 3, waiting: 0, granted: 0 });
  limiter.tryAcquire();
  await clock.advance(50);
  limiter.tryAcquire();
  assert.equal(limiter.stats().available, 1);
  await clock.advance(50);
  assert.equal(limiter.stats().available, 2);
  assert.equal(limiter.stats().granted, 2);
});

test('RateLimiter - rejects bad options with a clear error', () => {
  assert.throws(() => new RateLimiter({ limit: 0, interval: 10 }), /Expected `limit` to be an integer ≥ 1, got 0/);
  assert.throws(() => new RateLimiter({ limit: 1, interval: -1 }), InvalidArgumentError);
  const limiter = new RateLimiter({ limit: 1, interval: 1 });
  assert.throws(() => limiter.acquire({ timeout: -1 }), InvalidArgumentError);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClosedError, InvalidArgumentError, ReleaseError, TimeoutError } from '../../src/core/errors.ts';
import { ResourcePool, type ResourcePoolOptions } from '../../src/core/resource-pool.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

interface Conn {
  id: number;
  alive: boolean;
}

/** A pool of fake connections that records what was created and destroyed. */
function makePool(clock: VirtualClock, options: Partial<ResourcePoolOptions<Conn>> = {}) {
  let next = 0;
  const created: number[] = [];
  const destroyed: number[] = [];
  const pool = new ResourcePool<Conn>({
    create: async () => {
      const conn = { id: ++next, alive: true };
      created.push(conn.id);
      return conn;
    },
    destroy: (c) => void destroyed.push(c.id),
    clock,
    ...options,
  });
  return { pool, created, destroyed };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('ResourcePool - never more than `max` resources; extra callers wait and reuse them', async () => {
  const clock = new VirtualClock();
  const { pool, created } = makePool(clock, { max: 2 });
  let inUse = 0;
  let peak = 0;
  const work = async () =>
    pool.use(async () => {
      peak = Math.max(peak, ++inUse);
      await tick();
      inUse--;
    });
  await Promise.all(Array.from({ length: 10 }, work));
  assert.equal(peak, 2);
  assert.deepEqual(created, [1, 2]);
  assert.deepEqual(pool.stats(), { size: 2, idle: 2, leased: 0, waiting: 0, pending: 0, min: 0, max: 2 });
});

test('ResourcePool - waiters are served FIFO', async () => {
  const clock = new VirtualClock();
  const { pool } = makePool(clock, { max: 1 });
  const first = await pool.acquire();
  const order: number[] = [];
  const waiters = [1, 2, 3].map((n) =>
    pool.acquire().then((lease) => {
      order.push(n);
      lease.release();
    }),
  );
  await tick();
  assert.equal(pool.stats().waiting, 3);
  first.release();
  await Promise.all(waiters);
  assert.deepEqual(order, [1, 2, 3]);
});

test('ResourcePool - acquire({ timeout }) rejects with TimeoutError, and an abort with the reason', async () => {
  const clock = new VirtualClock();
  const { pool } = makePool(clock, { max: 1, acquireTimeout: 500 });
  const lease = await pool.acquire();
  const timedOut = assert.rejects(pool.acquire(), TimeoutError);
  const ac = new AbortController();
  const aborted = pool.acquire({ signal: ac.signal, timeout: 10_000 });
  ac.abort('bye');
  await assert.rejects(aborted, (e) => e === 'bye');
  await clock.advance(500);
  await timedOut;
  assert.equal(pool.stats().waiting, 0);
  assert.equal(clock.pendingTimers, 0);
  lease.release();
  assert.equal(pool.stats().idle, 1, 'nobody took the resource for a cancelled waiter');
});

test('ResourcePool - a creation failure rejects the waiter that triggered it and frees its capacity', async () => {
  const clock = new VirtualClock();
  let calls = 0;
  const failures = new Set([1, 2]);
  const pool = new ResourcePool<number>({
    clock,
    max: 1,
    create: async () => {
      calls++;
      if (failures.has(calls)) throw new Error(`create ${calls} failed`);
      return calls;
    },
  });
  await assert.rejects(pool.acquire(), /create 1 failed/);
  assert.deepEqual(pool.stats(), { size: 0, idle: 0, leased: 0, waiting: 0, pending: 0, min: 0, max: 1 });
  const a = pool.acquire();
  const b = pool.acquire();
  await assert.rejects(a, /create 2 failed/);
  const lease = await b;
  assert.equal(lease.resource, 3, 'b triggered its own create after a\'s failed');
  assert.equal(pool.stats().size, 1);
  lease.release();
});

test('ResourcePool - a create that throws synchronously is a failure like any other', async () => {
  const clock = new VirtualClock();
  let fail = true;
  const pool = new ResourcePool<string>({
    clock,
    max: 1,
    create: () => {
      if (fail) throw new Error('sync');
      return 'r';
    },
  });
  await assert.rejects(pool.acquire(), /sync/);
  fail = false;
  const lease = await pool.acquire();
  assert.equal(lease.resource, 'r');
});

test('ResourcePool - a create whose waiter was served elsewhere serves the next, and its failure rejects no one else', async () => {
  const clock = new VirtualClock();
  const gates: { resolve: (v: number) => void; reject: (e: unknown) => void }[] = [];
  const pool = new ResourcePool<number>({ clock, max: 2, create: () => new Promise((resolve, reject) => gates.push({ resolve, reject })) });
  const first = pool.acquire();
  const second = pool.acquire();
  await tick();
  assert.equal(pool.stats().pending, 2);
  gates[1]!.resolve(20);
  assert.equal((await first).resource, 20, 'FIFO: the first resource made goes to the head of the line');
  gates[0]!.reject(new Error('late failure'));
  await tick();
  assert.equal(pool.stats().waiting, 1, 'second was not rejected: its own create did not fail');
  assert.equal(pool.stats().pending, 1, 'a new create was started for second');
  gates[2]!.resolve(30);
  assert.equal((await second).resource, 30);
  assert.deepEqual(pool.stats(), { size: 2, idle: 0, leased: 2, waiting: 0, pending: 0, min: 0, max: 2 });
});

test('ResourcePool - a resource created for a waiter that gave up goes idle', async () => {
  const clock = new VirtualClock();
  let finish!: (v: string) => void;
  const pool = new ResourcePool<string>({ clock, create: () => new Promise((resolve) => (finish = resolve)) });
  const p = pool.acquire({ timeout: 100 });
  const rejected = assert.rejects(p, TimeoutError);
  await clock.advance(100);
  await rejected;
  finish('r');
  await tick();
  assert.deepEqual(pool.stats(), { size: 1, idle: 1, leased: 0, waiting: 0, pending: 0, min: 0, max: 10 });
});

test('ResourcePool - a synchronous validate that fails (or throws) destroys the resource', async () => {
  const clock = new VirtualClock();
  const { pool, destroyed } = makePool(clock, {
    max: 1,
    validate: (c) => {
      if (c.id === 2) throw new Error('cannot tell');
      return c.alive;
    },
  });
  const a = await pool.acquire();
  a.resource.alive = false;
  a.release();
  const b = await pool.acquire();
  assert.equal(b.resource.id, 2);
  b.release();
  const c = await pool.acquire();
  assert.equal(c.resource.id, 3);
  assert.deepEqual(destroyed, [1, 2]);
  assert.equal(pool.stats().size, 1);
});

test('ResourcePool - idle resources above `min` are evicted after idleTimeout', async () => {
  const clock = new VirtualClock();
  const { pool, destroyed } = makePool(clock, { max: 3, min: 1, idleTimeout: 1000 });
  const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
  leases[0]!.release();
  await clock.advance(400);
  leases[1]!.release();
  leases[2]!.release();
  assert.equal(clock.pendingTimers, 1, 'one eviction timer, for the oldest idle resource');
  await clock.advance(600);
  assert.deepEqual(destroyed, [1]);
  await clock.advance(400);
  assert.deepEqual(destroyed, [1, 2], 'stops at min');
  assert.deepEqual(pool.stats(), { size: 1, idle: 1, leased: 0, waiting: 0, pending: 0, min: 1, max: 3 });
  assert.equal(clock.pendingTimers, 0);
  await clock.advance(10_000);
  assert.equal(pool.stats().size, 1);
});

test('ResourcePool - `min` resources are created up front and replaced when destroyed', async () => {
  const clock = new VirtualClock();
  const { pool, created } = makePool(clock, { min: 2, max: 4 });
  await tick();
  assert.deepEqual(created, [1, 2]);
  assert.equal(pool.stats().idle, 2);
  const lease = await pool.acquire();
  await lease.destroy();
  await tick();
  assert.equal(pool.stats().size, 2);
  assert.deepEqual(created, [1, 2, 3]);
});

test('ResourcePool - validate runs on checkout of an idle resource; a failure destroys it and the waiter keeps its place', async () => {
  const clock = new VirtualClock();
  const { pool, destroyed, created } = makePool(clock, { max: 2, validate: async (c) => c.alive });
  const lease = await pool.acquire();
  assert.equal(lease.resource.id, 1, 'a fresh resource is not validated');
  lease.resource.alive = false;
  lease.release();
  const next = await pool.acquire();
  assert.equal(next.resource.id, 2);
  assert.deepEqual(destroyed, [1]);
  assert.deepEqual(created, [1, 2]);
  next.release();
  const again = await pool.acquire();
  assert.equal(again.resource.id, 2, 'a valid idle resource is reused');
  again.release();
});

test('ResourcePool - use() releases on throw (not destroys) and on abort', async () => {
  const clock = new VirtualClock();
  const { pool, destroyed } = makePool(clock, { max: 1 });
  await assert.rejects(pool.use(async () => {
    throw new Error('work failed');
  }), /work failed/);
  assert.deepEqual(pool.stats(), { size: 1, idle: 1, leased: 0, waiting: 0, pending: 0, min: 0, max: 1 });
  assert.deepEqual(destroyed, []);

  const ac = new AbortController();
  const p = pool.use((_c, { signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { signal: ac.signal });
  await tick();
  assert.equal(pool.stats().leased, 1);
  ac.abort('cancelled');
  await assert.rejects(p, (e) => e === 'cancelled');
  assert.equal(pool.stats().leased, 0);
  assert.equal(pool.stats().idle, 1);
});

test('ResourcePool - a lease is Disposable and releases once; release(r) by resource works too', async () => {
  const clock = new VirtualClock();
  const { pool } = makePool(clock, { max: 1 });
  {
    using lease = await pool.acquire();
    assert.equal(pool.stats().leased, 1);
    lease.release();
    assert.equal(lease.released, true);
  }
  assert.equal(pool.stats().idle, 1);
  const lease = await pool.acquire();
  pool.release(lease.resource);
  assert.equal(lease.released, true);
  assert.throws(() => pool.release(lease.resource), ReleaseError);
  assert.deepEqual(pool.stats(), { size: 1, idle: 1, leased: 0, waiting: 0, pending: 0, min: 0, max: 1 });
});

test('ResourcePool - close() rejects new acquires, serves waiters, waits for leases, then destroys everything', async () => {
  const clock = new VirtualClock();
  const { pool, destroyed } = makePool(clock, { max: 2 });
  const a = await pool.acquire();
  const b = await pool.acquire();
  const waiter = pool.acquire();
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  await assert.rejects(pool.acquire(), ClosedError);
  a.release();
  const c = await waiter;
  await tick();
  assert.equal(closed, false);
  assert.deepEqual(destroyed, []);
  b.release();
  c.release();
  await closing;
  assert.deepEqual(destroyed.sort(), [1, 2]);
  assert.equal(pool.stats().size, 0);
  assert.equal(pool.close(), pool.close(), 'idempotent');
});

test('ResourcePool - destroy() rejects waiters, destroys idle now and leased ones when they come back', async () => {
  const clock = new VirtualClock();
  const { pool, destroyed } = makePool(clock, { max: 2, acquireTimeout: 60_000 });
  const a = await pool.acquire();
  const b = await pool.acquire();
  const w1 = pool.acquire();
  const w2 = pool.acquire();
  await pool.destroy();
  await assert.rejects(w1, ClosedError);
  await assert.rejects(w2, ClosedError);
  assert.equal(clock.pendingTimers, 0, 'the waiters\' timeouts are gone');
  assert.deepEqual(destroyed, []);
  a.release();
  await b.destroy();
  await tick();
  assert.deepEqual(destroyed, [1, 2]);
  assert.equal(pool.stats().size, 0);
  await assert.rejects(pool.acquire(), ClosedError);
  assert.equal(pool.destroy(), pool.destroy(), 'idempotent');
  await pool.close();

  const idle = makePool(clock, { max: 2 });
  const leases = await Promise.all([idle.pool.acquire(), idle.pool.acquire()]);
  leases[0]!.release();
  await idle.pool.destroy();
  assert.deepEqual(idle.destroyed, [1], 'idle destroyed at once, without waiting for the lease');
  leases[1]!.release();
  await tick();
  assert.deepEqual(idle.destroyed, [1, 2]);
});

test('ResourcePool - destroy() aborts creates in flight and disposes what they return', async () => {
  const clock = new VirtualClock();
  const destroyed: string[] = [];
  let finish!: () => void;
  let seen: AbortSignal | undefined;
  const pool = new ResourcePool<string>({
    clock,
    create: ({ signal }) => {
      seen = signal;
      return new Promise((resolve) => (finish = () => resolve('late')));
    },
    destroy: (r) => void destroyed.push(r),
  });
  const p = pool.acquire();
  await pool.destroy(new Error('shutting down'));
  await assert.rejects(p, /shutting down/);
  assert.equal(seen?.aborted, true);
  finish();
  await tick();
  assert.deepEqual(destroyed, ['late']);
  assert.deepEqual(pool.stats(), { size: 0, idle: 0, leased: 0, waiting: 0, pending: 0, min: 0, max: 10 });
});

test('ResourcePool - await using closes the pool', async () => {
  const clock = new VirtualClock();
  const { pool, destroyed } = makePool(clock);
  {
    await using p = pool;
    await p.use(async () => {});
  }
  assert.deepEqual(destroyed, [1]);
  await assert.rejects(pool.acquire(), ClosedError);
});

test('ResourcePool - rejects bad options with a clear error', () => {
  const create = () => 1;
  assert.throws(() => new ResourcePool({ create, max: 0 }), /Expected `max` to be an integer ≥ 1, got 0/);
  assert.throws(() => new ResourcePool({ create, min: 3, max: 2 }), /Expected `min` to be ≤ max \(2\), got 3/);
  assert.throws(() => new ResourcePool({ create: undefined as never }), InvalidArgumentError);
});

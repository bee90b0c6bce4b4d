// One suite run over every lock-like primitive (trio's test_lock_common style): whatever the
// implementation, a lock must exclude, serve FIFO, let waiters give up cleanly and never lose a
// unit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { type Permit, type WaitOptions, BoundedSemaphore, Semaphore } from '../../src/core/semaphore.ts';
import { Lock } from '../../src/core/lock.ts';
import { Condition } from '../../src/core/condition.ts';
import { TimeoutError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import type { Clock } from '../../src/core/clock.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

interface LockLike {
  acquire(options?: WaitOptions): Promise<Permit>;
  tryAcquire(): boolean;
  release(): void;
  use<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T>;
  locked(): boolean;
}

interface Kind {
  name: string;
  make(clock: Clock): LockLike;
  /** Tasks waiting for the lock. */
  waiting(lock: LockLike): number;
}

const kinds: Kind[] = [
  { name: 'Lock', make: (clock) => new Lock({ clock }), waiting: (l) => (l as Lock).stats().waiting },
  { name: 'Semaphore(1)', make: (clock) => new Semaphore(1, { clock }), waiting: (l) => (l as Semaphore).stats().waiting },
  { name: 'BoundedSemaphore(1)', make: (clock) => new BoundedSemaphore(1, { clock }), waiting: (l) => (l as BoundedSemaphore).stats().waiting },
  { name: 'Condition', make: (clock) => new Condition(undefined, { clock }), waiting: (l) => (l as Condition).stats().lock.waiting },
];

/** An AbortController whose signal counts listeners added; `listening()` counts those still attached. */
function countedController() {
  const ac = new AbortController();
  const counts = { added: 0 };
  const add = ac.signal.addEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...args: Parameters<typeof add>) => (counts.added++, add(...args))) as typeof add;
  return { ac, signal: ac.signal, counts, listening: () => getEventListeners(ac.signal, 'abort').length };
}

const settled = async (p: Promise<unknown>) => {
  let state = 'pending';
  p.then(() => (state = 'fulfilled'), () => (state = 'rejected'));
  await new Promise((r) => setImmediate(r));
  return state;
};

for (const kind of kinds) {
  describe(`lock conformance: ${kind.name}`, () => {
    test('use() - excludes every other holder under contention', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      let inside = 0;
      let most = 0;
      const done: number[] = [];
      const work = Array.from({ length: 20 }, (_, i) =>
        lock.use(async () => {
          inside++;
          most = Math.max(most, inside);
          await sleep(((i * 7) % 5) + 1, { clock });
          inside--;
          done.push(i);
        }),
      );
      await clock.run(Promise.all(work));
      assert.equal(most, 1);
      assert.deepEqual(done, Array.from({ length: 20 }, (_, i) => i));
      assert.equal(lock.locked(), false);
      assert.equal(clock.pendingTimers, 0);
    });

    test('acquire() - a Permit excludes until released, and `using` releases at scope end', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      {
        using _ = await lock.acquire();
        assert.equal(lock.locked(), true);
        assert.equal(lock.tryAcquire(), false);
      }
      assert.equal(lock.locked(), false);
      assert.equal(lock.tryAcquire(), true);
      lock.release();
      assert.equal(lock.locked(), false);
    });

    test('acquire() - waiters are served FIFO', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const first = await lock.acquire();
      const order: number[] = [];
      const waiters = Array.from({ length: 10 }, (_, i) =>
        lock.acquire().then((permit) => {
          order.push(i);
          permit.release();
        }),
      );
      await clock.flush();
      assert.equal(kind.waiting(lock), 10);
      first.release();
      await Promise.all(waiters);
      assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      assert.equal(kind.waiting(lock), 0);
      assert.equal(lock.locked(), false);
    });

    test('tryAcquire() - cannot barge past a waiter the lock is being handed to', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      assert.equal(lock.tryAcquire(), true);
      const waiter = lock.acquire();
      lock.release();
      assert.equal(lock.locked(), true);
      assert.equal(lock.tryAcquire(), false);
      const permit = await waiter;
      assert.equal(lock.tryAcquire(), false);
      permit.release();
      assert.equal(lock.locked(), false);
    });

    test('Permit.release() - releasing twice releases once', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const a = await lock.acquire();
      const b = lock.acquire();
      a.release();
      a.release();
      const permit = await b;
      assert.equal(lock.locked(), true, 'the second release must not free the lock b holds');
      assert.equal(lock.tryAcquire(), false);
      permit.release();
      assert.equal(lock.tryAcquire(), true);
      assert.equal(lock.tryAcquire(), false, 'a double release must not have added a unit');
      lock.release();
    });

    test('acquire() - a waiter aborted while waiting rejects with signal.reason and holds nothing', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const held = await lock.acquire();
      const { ac, signal, counts, listening } = countedController();
      const aborted = lock.acquire({ signal });
      const next = lock.acquire();
      await clock.flush();
      assert.equal(kind.waiting(lock), 2);
      assert.equal(listening(), 1);
      const reason = new Error('stop');
      ac.abort(reason);
      await assert.rejects(aborted, (e) => e === reason);
      assert.equal(kind.waiting(lock), 1);
      held.release();
      const permit = await next;
      permit.release();
      assert.equal(lock.locked(), false);
      assert.equal(counts.added, 1);
      assert.equal(listening(), 0);
    });

    test('acquire() - an already-aborted signal rejects without taking the lock', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      await assert.rejects(lock.acquire({ signal: AbortSignal.abort('gone') }), (e) => e === 'gone');
      assert.equal(lock.locked(), false);
      assert.equal(kind.waiting(lock), 0);
    });

    test('acquire() - a waiter that times out rejects with TimeoutError and leaves no timer', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const held = await lock.acquire();
      const { signal, counts, listening } = countedController();
      const late = lock.acquire({ timeout: 100, signal });
      await clock.advance(99);
      assert.equal(await settled(late), 'pending');
      await clock.advance(1);
      await assert.rejects(late, TimeoutError);
      assert.equal(kind.waiting(lock), 0);
      assert.equal(clock.pendingTimers, 0);
      assert.equal(counts.added, 1);
      assert.equal(listening(), 0);
      held.release();
      assert.equal(lock.locked(), false);
    });

    test('acquire() - a waiter served before its timeout clears its timer and abort listener', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const held = await lock.acquire();
      const { signal, counts, listening } = countedController();
      const waiter = lock.acquire({ timeout: 1000, signal });
      await clock.advance(10);
      assert.equal(clock.pendingTimers, 1);
      assert.equal(listening(), 1);
      held.release();
      const permit = await waiter;
      assert.equal(clock.pendingTimers, 0);
      assert.equal(counts.added, 1);
      assert.equal(listening(), 0);
      await clock.advance(2000);
      assert.equal(lock.locked(), true, 'the cleared timeout must not affect the holder');
      permit.release();
    });

    test('acquire() - the lock handed to a waiter whose abort races passes on to the next waiter', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const held = await lock.acquire();
      const ac = new AbortController();
      const racer = lock.acquire({ signal: ac.signal });
      const next = lock.acquire();
      await clock.flush();
      held.release(); // hands the lock to `racer`…
      ac.abort(new Error('too late')); // …which gives up before it could run
      await assert.rejects(racer, /too late/);
      const permit = await next;
      assert.equal(lock.locked(), true);
      permit.release();
      assert.equal(lock.locked(), false);
      assert.equal(lock.tryAcquire(), true);
      assert.equal(lock.tryAcquire(), false);
      lock.release();
    });

    test('use() - releases when fn throws', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      await assert.rejects(lock.use(() => Promise.reject(new Error('boom'))), /boom/);
      assert.equal(lock.locked(), false);
      await assert.rejects(lock.use(() => { throw new Error('sync boom'); }), /sync boom/);
      assert.equal(lock.locked(), false);
    });

    test('use() - aborted while waiting, it rejects with signal.reason and never runs fn', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const held = await lock.acquire();
      const ac = new AbortController();
      let ran = false;
      const p = lock.use(() => (ran = true), { signal: ac.signal });
      ac.abort('cancelled');
      await assert.rejects(p, (e) => e === 'cancelled');
      held.release();
      assert.equal(ran, false);
      assert.equal(lock.locked(), false);
    });

    test('acquire() - many waiters timing out leave the lock usable and nothing behind', async () => {
      const clock = new VirtualClock();
      const lock = kind.make(clock);
      const held = await lock.acquire();
      const waits = Array.from({ length: 100 }, (_, i) => lock.acquire({ timeout: i + 1 }).then(() => 'got', () => 'timed out'));
      const last = lock.acquire();
      await clock.advance(100);
      assert.deepEqual(new Set(await Promise.all(waits)), new Set(['timed out']));
      assert.equal(kind.waiting(lock), 1);
      held.release();
      (await last).release();
      assert.equal(lock.locked(), false);
      assert.equal(clock.pendingTimers, 0);
    });

    test('acquire() - rejects bad options with a clear error', () => {
      const lock = kind.make(new VirtualClock());
      assert.throws(() => lock.acquire({ timeout: -1 }), /Expected `timeout` to be a number ≥ 0, got -1/);
      assert.throws(() => lock.acquire({ signal: {} as AbortSignal }), /Expected `signal` to be an AbortSignal/);
    });
  });
}

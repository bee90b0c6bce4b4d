import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Lock } from '../../src/core/lock.ts';
import { ReleaseError, TimeoutError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

test('Lock.release() - on an unlocked lock throws ReleaseError', async () => {
  const lock = new Lock();
  assert.throws(() => lock.release(), (e) => e instanceof ReleaseError && e.message === 'Lock is not acquired');
  const permit = await lock.acquire();
  permit.release();
  assert.throws(() => lock.release(), ReleaseError);
  permit.release();
});

test('Lock.stats() - reports locked and live waiters', async () => {
  const lock = new Lock();
  assert.deepEqual(lock.stats(), { locked: false, waiting: 0 });
  const held = await lock.acquire();
  const next = lock.acquire();
  assert.deepEqual(lock.stats(), { locked: true, waiting: 1 });
  held.release();
  assert.deepEqual(lock.stats(), { locked: true, waiting: 0 });
  (await next).release();
  assert.deepEqual(lock.stats(), { locked: false, waiting: 0 });
});

test('Lock.acquire() - is not re-entrant: the holder acquiring again waits (and times out)', async () => {
  const clock = new VirtualClock();
  const lock = new Lock({ clock });
  using _ = await lock.acquire();
  const again = assert.rejects(lock.acquire({ timeout: 10 }), (e) => e instanceof TimeoutError && /^Lock\.acquire\(\) timed out/.test(e.message));
  await clock.advance(10);
  await again;
});

test('Lock.acquire() - a timeout turns a would-be deadlock into TimeoutError (the seed tutorial)', async () => {
  // Three tasks want the lock; the first holds it too long, the others give up after 5 s.
  const clock = new VirtualClock();
  const lock = new Lock({ clock });
  const log: string[] = [];
  const task = async (id: number, holdMs: number) => {
    try {
      using _ = await lock.acquire({ timeout: 5000 });
      log.push(`${id} acquired`);
      await sleep(holdMs, { clock });
      log.push(`${id} releasing`);
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      log.push(`${id} timed out`);
    }
  };
  await clock.run(Promise.all([task(0, 10_000), task(1, 1), task(2, 1)]));
  assert.deepEqual(log, ['0 acquired', '1 timed out', '2 timed out', '0 releasing']);
  assert.equal(lock.locked(), false);
  assert.equal(clock.pendingTimers, 0);
});

test('Lock.acquire() - publishes waitStart naming the Lock when it has to wait', async () => {
  const seen: unknown[] = [];
  const onMessage = (message: unknown) => seen.push(message);
  subscribe('spate:wait:start', onMessage);
  try {
    const lock = new Lock();
    const held = await lock.acquire();
    const next = lock.acquire();
    assert.deepEqual(seen, [{ primitive: lock, kind: 'lock' }]);
    held.release();
    (await next).release();
  } finally {
    unsubscribe('spate:wait:start', onMessage);
  }
});

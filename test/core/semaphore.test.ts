import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { BoundedSemaphore, Permit, Semaphore } from '../../src/core/semaphore.ts';
import { InvalidArgumentError, ReleaseError, TimeoutError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

test('Semaphore() - at most `value` holders at once', async () => {
  const clock = new VirtualClock();
  const sem = new Semaphore(3, { clock });
  let inside = 0;
  let most = 0;
  const work = Array.from({ length: 12 }, (_, i) =>
    sem.use(async () => {
      inside++;
      most = Math.max(most, inside);
      await sleep((i % 4) + 1, { clock });
      inside--;
    }),
  );
  await clock.run(Promise.all(work));
  assert.equal(most, 3);
  assert.deepEqual(sem.stats(), { value: 3, waiting: 0, locked: false });
});

test('Semaphore() - value counts free units; locked() when none is free', async () => {
  const sem = new Semaphore(2, { clock: new VirtualClock() });
  assert.equal(sem.value, 2);
  const a = await sem.acquire();
  assert.equal(sem.value, 1);
  assert.equal(sem.locked(), false);
  assert.equal(sem.tryAcquire(), true);
  assert.equal(sem.value, 0);
  assert.equal(sem.locked(), true);
  assert.equal(sem.tryAcquire(), false);
  a.release();
  sem.release();
  assert.equal(sem.value, 2);
});

test('Semaphore(0) - waits until a release', async () => {
  const sem = new Semaphore(0, { clock: new VirtualClock() });
  let got = false;
  const p = sem.acquire().then((permit) => {
    got = true;
    return permit;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(got, false);
  assert.equal(sem.stats().waiting, 1);
  sem.release();
  assert.ok((await p) instanceof Permit);
  assert.equal(sem.value, 0);
});

test('Semaphore.release() - may raise the count above its initial value (asyncio.Semaphore)', () => {
  const sem = new Semaphore(1);
  sem.release();
  assert.equal(sem.value, 2);
});

test('BoundedSemaphore.release() - above the initial value throws ReleaseError', async () => {
  const sem = new BoundedSemaphore(2);
  assert.throws(() => sem.release(), ReleaseError);
  const permit = await sem.acquire();
  permit.release();
  permit.release();
  assert.equal(sem.value, 2);
  assert.throws(() => sem.release(), /BoundedSemaphore released above its initial value \(2\)/);
  assert.ok(sem instanceof Semaphore);
});

test('Permit - released reports whether release() has run', async () => {
  const sem = new Semaphore(1);
  const permit = await sem.acquire();
  assert.equal(permit.released, false);
  permit[Symbol.dispose]();
  assert.equal(permit.released, true);
  assert.equal(sem.value, 1);
});

test('acquire() - each acquire gets a distinct Permit', async () => {
  const sem = new Semaphore(2);
  const a = await sem.acquire();
  const b = await sem.acquire();
  assert.notEqual(a, b);
  a.release();
  a.release();
  assert.equal(sem.value, 1);
  b.release();
  assert.equal(sem.value, 2);
});

test('acquire() - a unit handed to an aborted waiter passes on with several units in play', async () => {
  const sem = new Semaphore(2, { clock: new VirtualClock() });
  const a = await sem.acquire();
  const b = await sem.acquire();
  const ac = new AbortController();
  const racer = sem.acquire({ signal: ac.signal });
  const second = sem.acquire();
  const third = sem.acquire();
  a.release();
  ac.abort('late');
  await assert.rejects(racer, (e) => e === 'late');
  const s = await second;
  assert.equal(sem.stats().waiting, 1);
  b.release();
  const t = await third;
  s.release();
  t.release();
  assert.deepEqual(sem.stats(), { value: 2, waiting: 0, locked: false });
});

test('acquire() - cancelled waiters are skipped and compacted, the live ones still served in order', async () => {
  const clock = new VirtualClock();
  const sem = new Semaphore(0, { clock });
  const order: number[] = [];
  const controllers: AbortController[] = [];
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < 200; i++) {
    const ac = new AbortController();
    controllers.push(ac);
    waits.push(sem.acquire({ signal: ac.signal }).then((p) => (order.push(i), p.release()), () => 'aborted'));
  }
  for (let i = 0; i < 200; i++) if (i % 50 !== 7) controllers[i]!.abort();
  assert.equal(sem.stats().waiting, 4);
  sem.release();
  await Promise.all(waits);
  assert.deepEqual(order, [7, 57, 107, 157]);
  assert.deepEqual(sem.stats(), { value: 1, waiting: 0, locked: false });
});

test('acquire() - timeout rejects with TimeoutError naming the primitive', async () => {
  const clock = new VirtualClock();
  const sem = new BoundedSemaphore(1, { clock });
  const held = await sem.acquire();
  const late = assert.rejects(sem.acquire({ timeout: 50 }), (e) => e instanceof TimeoutError && /BoundedSemaphore\.acquire\(\) timed out after 50 ms/.test(e.message));
  await clock.advance(50);
  await late;
  held.release();
  assert.equal(clock.pendingTimers, 0);
});

test('acquire() - uses the default clock when none is given', async () => {
  const clock = new VirtualClock();
  using _ = clock.install();
  const sem = new Semaphore(0);
  const late = assert.rejects(sem.acquire({ timeout: 10 }), TimeoutError);
  await clock.advance(10);
  await late;
});

test('acquire() - timeout 0 on a free semaphore acquires at once without a timer', async () => {
  const clock = new VirtualClock();
  const sem = new Semaphore(1, { clock });
  const permit = await sem.acquire({ timeout: 0 });
  assert.equal(clock.pendingTimers, 0);
  permit.release();
});

test('acquire() - publishes waitStart only when it has to wait', async () => {
  const seen: unknown[] = [];
  const onMessage = (message: unknown) => seen.push(message);
  subscribe('spate:wait:start', onMessage);
  try {
    const sem = new Semaphore(1);
    const a = await sem.acquire();
    assert.equal(seen.length, 0);
    const b = sem.acquire();
    assert.deepEqual(seen, [{ primitive: sem, kind: 'semaphore' }]);
    a.release();
    (await b).release();
  } finally {
    unsubscribe('spate:wait:start', onMessage);
  }
});

test('Semaphore(Infinity) - never waits', async () => {
  const sem = new Semaphore(Infinity);
  const permits = await Promise.all(Array.from({ length: 5 }, () => sem.acquire()));
  assert.equal(sem.locked(), false);
  for (const p of permits) p.release();
  assert.equal(sem.value, Infinity);
});

test('Semaphore() - rejects a bad value with a clear error', () => {
  assert.throws(() => new Semaphore(-1), InvalidArgumentError);
  assert.throws(() => new Semaphore(1.5), /Expected `value` to be an integer ≥ 0 or Infinity, got 1.5/);
  assert.throws(() => new BoundedSemaphore(Number.NaN), InvalidArgumentError);
});

test('use() - returns what fn returns', async () => {
  const sem = new Semaphore(1);
  assert.equal(await sem.use(() => 42), 42);
  assert.equal(await sem.use(async () => 'x'), 'x');
  assert.equal(sem.value, 1);
});

test('acquire() - waiters sharing one signal: the served one leaves, the rest reject on abort, no listener stays', async () => {
  const sem = new Semaphore(1);
  const held = await sem.acquire();
  const ac = new AbortController();
  const waits = [0, 1, 2].map(() => sem.acquire({ signal: ac.signal }));
  held.release();
  const served = await waits[0]!;
  assert.ok(getEventListeners(ac.signal, 'abort').length > 0, 'the others still listen');
  ac.abort('done');
  await assert.rejects(waits[1]!, (e) => e === 'done');
  await assert.rejects(waits[2]!, (e) => e === 'done');
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  assert.equal(served.released, false);
  served.release();
  assert.deepEqual(sem.stats(), { value: 1, waiting: 0, locked: false });
});

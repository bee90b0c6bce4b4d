import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Condition } from '../../src/core/condition.ts';
import { Lock } from '../../src/core/lock.ts';
import { InvalidArgumentError, ReleaseError, TimeoutError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

const turn = () => new Promise((r) => setImmediate(r));

test('Condition - wait(), waitFor() and notify() without the lock throw ReleaseError', async () => {
  const cond = new Condition();
  await assert.rejects(cond.wait(), (e) => e instanceof ReleaseError && /Condition\.wait\(\) needs the lock held/.test(e.message));
  await assert.rejects(cond.waitFor(() => true), ReleaseError);
  assert.throws(() => cond.notify(), ReleaseError);
  assert.throws(() => cond.notifyAll(), ReleaseError);
});

test('Condition.notify() - wakes waiters one at a time, longest-waiting first', async () => {
  const cond = new Condition();
  const woken: number[] = [];
  const waiters = [0, 1, 2, 3].map((i) => cond.use(async () => {
    await cond.wait();
    woken.push(i);
  }));
  await turn();
  assert.equal(cond.stats().waiting, 4);
  await cond.use(() => cond.notify());
  await turn();
  assert.deepEqual(woken, [0]);
  await cond.use(() => cond.notify(2));
  await turn();
  assert.deepEqual(woken, [0, 1, 2]);
  await cond.use(() => cond.notifyAll());
  await Promise.all(waiters);
  assert.deepEqual(woken, [0, 1, 2, 3]);
  assert.deepEqual(cond.stats(), { locked: false, waiting: 0, lock: { locked: false, waiting: 0 } });
});

test('Condition.wait() - returns only once the notifier has released the lock', async () => {
  const clock = new VirtualClock();
  const cond = new Condition(undefined, { clock });
  const log: string[] = [];
  const waiter = cond.use(async () => {
    await cond.wait();
    log.push(`waiter resumed, locked=${cond.locked()}`);
  });
  await turn();
  const notifier = cond.use(async () => {
    cond.notify();
    log.push('notified');
    await sleep(10, { clock });
    log.push('notifier releasing');
  });
  await clock.run(Promise.all([waiter, notifier]));
  assert.deepEqual(log, ['notified', 'notifier releasing', 'waiter resumed, locked=true']);
  assert.equal(cond.locked(), false);
});

test('Condition.wait() - aborted, it rejects with signal.reason only after re-acquiring the lock', async () => {
  const clock = new VirtualClock();
  const cond = new Condition(undefined, { clock });
  const ac = new AbortController();
  const log: string[] = [];
  const waiter = cond.use(async () => {
    try {
      await cond.wait({ signal: ac.signal });
    } catch (error) {
      log.push(`caught ${String(error)}, locked=${cond.locked()}`);
      throw error;
    }
  });
  await turn();
  const other = cond.use(async () => {
    ac.abort('stop');
    await sleep(5, { clock });
    log.push('other releasing');
  });
  await assert.rejects(clock.run(waiter), (e) => e === 'stop');
  await other;
  assert.deepEqual(log, ['other releasing', 'caught stop, locked=true']);
  assert.equal(cond.locked(), false);
  assert.equal(cond.stats().waiting, 0);
});

test('Condition.wait() - timeout rejects with TimeoutError holding the lock, and leaves no timer', async () => {
  const clock = new VirtualClock();
  const cond = new Condition(undefined, { clock });
  let lockedAtTimeout: boolean | undefined;
  const waiter = cond.use(async () => {
    await cond.wait({ timeout: 100 }).catch((error: unknown) => {
      lockedAtTimeout = cond.locked();
      throw error;
    });
  });
  const outcome = assert.rejects(waiter, TimeoutError);
  await clock.advance(99);
  assert.equal(lockedAtTimeout, undefined);
  await clock.advance(1);
  await outcome;
  assert.equal(lockedAtTimeout, true);
  assert.equal(cond.locked(), false);
  assert.equal(clock.pendingTimers, 0);
});

test('Condition.wait() - a notification taken by a waiter that then aborts passes to the next waiter', async () => {
  const cond = new Condition();
  const ac = new AbortController();
  const first = cond.use(() => cond.wait({ signal: ac.signal }));
  let secondWoke = false;
  const second = cond.use(async () => {
    await cond.wait();
    secondWoke = true;
  });
  await turn();
  await cond.use(() => {
    cond.notify(1); // goes to `first`…
    ac.abort('gone'); // …which gives up before it resumes
  });
  await assert.rejects(first, (e) => e === 'gone');
  await second;
  assert.equal(secondWoke, true);
  assert.equal(cond.locked(), false);
});

test('Condition.wait() - an already-aborted signal rejects at once, keeping the lock held', async () => {
  const cond = new Condition();
  await cond.use(async () => {
    await assert.rejects(cond.wait({ signal: AbortSignal.abort('no') }), (e) => e === 'no');
    assert.equal(cond.locked(), true);
  });
  assert.equal(cond.locked(), false);
});

test('Condition.waitFor() - returns the truthy predicate value once it holds', async () => {
  const cond = new Condition();
  const items: string[] = [];
  const consumer = cond.use(async () => {
    const n = await cond.waitFor(() => items.length >= 2 && items.length);
    return [n, items.splice(0)];
  });
  for (const item of ['a', 'b']) {
    await turn();
    await cond.use(() => {
      items.push(item);
      cond.notifyAll();
    });
  }
  assert.deepEqual(await consumer, [2, ['a', 'b']]);
  assert.equal(await cond.use(() => cond.waitFor(() => 'already')), 'already');
});

test('Condition.waitFor() - timeout is a deadline for the whole call, not each wait', async () => {
  const clock = new VirtualClock();
  const cond = new Condition(undefined, { clock });
  let checks = 0;
  const waiter = cond.use(() => cond.waitFor(() => (checks++, false), { timeout: 100 }));
  const outcome = assert.rejects(waiter, TimeoutError);
  for (let t = 0; t < 3; t++) {
    await clock.advance(40);
    if (t < 2) await cond.use(() => cond.notify());
  }
  await outcome;
  assert.equal(clock.now(), 120);
  assert.equal(checks, 3);
  assert.equal(clock.pendingTimers, 0);
});

test('Condition - two conditions can share one lock', async () => {
  const lock = new Lock();
  const notEmpty = new Condition(lock);
  const notFull = new Condition(lock);
  const permit = await notEmpty.acquire();
  assert.equal(notFull.locked(), true);
  assert.equal(notFull.tryAcquire(), false);
  permit.release();
  assert.equal(lock.locked(), false);
});

test('Condition - a bounded buffer with two conditions moves every item in order', async () => {
  const lock = new Lock();
  const notEmpty = new Condition(lock);
  const notFull = new Condition(lock);
  const buffer: number[] = [];
  const received: number[] = [];
  const producer = (async () => {
    for (let i = 0; i < 50; i++) {
      using _ = await lock.acquire();
      await notFull.waitFor(() => buffer.length < 3);
      buffer.push(i);
      notEmpty.notify();
    }
  })();
  const consumer = (async () => {
    while (received.length < 50) {
      using _ = await lock.acquire();
      await notEmpty.waitFor(() => buffer.length > 0);
      received.push(buffer.shift()!);
      notFull.notify();
    }
  })();
  await Promise.all([producer, consumer]);
  assert.deepEqual(received, Array.from({ length: 50 }, (_, i) => i));
});

test('Condition() - rejects a lock that is not a Lock', () => {
  assert.throws(() => new Condition({} as Lock), InvalidArgumentError);
});

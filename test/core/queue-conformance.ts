// The contract every queue kind keeps (Queue, LifoQueue, PriorityQueue), run by each one's test
// file: waiting, backpressure, join, shutdown, timeouts, cancellation and hygiene. Tests here do
// not depend on the order items come out in, only on the waiting machinery the kinds share.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { InvalidArgumentError, QueueEmpty, QueueFull, QueueShutDown, ReleaseError, TimeoutError } from '../../src/core/errors.ts';
import type { Queue, QueueOptions } from '../../src/core/queue.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface Tracked<T> {
  state: 'pending' | 'fulfilled' | 'rejected';
  value: T | undefined;
  error: unknown;
}

/** Records how a promise settles, so a test can look without awaiting. */
export function track<T>(promise: Promise<T>): Tracked<T> {
  const t: Tracked<T> = { state: 'pending', value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(t, { state: 'fulfilled', value }),
    (error: unknown) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

/** An AbortController and a count of the abort listeners its signal holds right now. */
export function countedController(): { controller: AbortController; listeners: () => number } {
  const controller = new AbortController();
  return { controller, listeners: () => getEventListeners(controller.signal, 'abort').length };
}

export function queueConformance(kind: string, make: (options?: QueueOptions) => Queue<number>): void {
  test(`${kind} - rejects a bad maxsize with a clear error; 0 means unbounded`, () => {
    assert.throws(() => make({ maxsize: -1 }), InvalidArgumentError);
    assert.throws(() => make({ maxsize: 1.5 }), /Expected `maxsize` to be an integer ≥ 0 or Infinity, got 1.5/);
    assert.throws(() => make({ maxsize: Number.NaN }), InvalidArgumentError);
    assert.throws(() => make({ maxsize: '3' as unknown as number }), InvalidArgumentError);
    const q = make({ maxsize: 0 });
    assert.equal(q.maxsize, Infinity);
    for (let i = 0; i < 5000; i++) q.putNowait(i);
    assert.equal(q.full(), false);
    assert.equal(q.size, 5000);
  });

  test(`${kind} - rejects bad wait options synchronously`, () => {
    const q = make();
    assert.throws(() => q.get({ timeout: -1 }), /Expected `timeout` to be a number ≥ 0, got -1/);
    assert.throws(() => q.put(1, { timeout: Number.NaN }), InvalidArgumentError);
    assert.throws(() => q.join({ signal: {} as AbortSignal }), InvalidArgumentError);
  });

  test(`${kind} - putNowait() throws QueueFull when full, getNowait() QueueEmpty when empty`, () => {
    const q = make({ maxsize: 1 });
    assert.throws(() => q.getNowait(), QueueEmpty);
    q.putNowait(1);
    assert.equal(q.full(), true);
    assert.throws(() => q.putNowait(2), QueueFull);
    assert.equal(q.getNowait(), 1);
    assert.equal(q.empty(), true);
  });

  test(`${kind} get() - waiting getters are served FIFO`, async () => {
    const q = make();
    const order: string[] = [];
    const a = q.get().then((v) => order.push(`a${v}`));
    const b = q.get().then((v) => order.push(`b${v}`));
    const c = q.get().then((v) => order.push(`c${v}`));
    assert.equal(q.stats().getters, 3);
    await q.put(1);
    await q.put(2);
    q.putNowait(3);
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['a1', 'b2', 'c3']);
    assert.equal(q.stats().getters, 0);
  });

  test(`${kind} put() - with a getter waiting, the item goes straight to it`, async () => {
    const q = make({ maxsize: 1 });
    const got = q.get();
    await q.put(7);
    assert.equal(q.size, 0);
    assert.equal(q.stats().unfinished, 1);
    assert.equal(await got, 7);
  });

  test(`${kind} put() - a producer blocks while full and resumes exactly when a slot frees`, async () => {
    const q = make({ maxsize: 2 });
    let produced = 0;
    const producer = (async () => {
      for (let i = 0; i < 5; i++) {
        await q.put(i);
        produced++;
      }
    })();
    await turn();
    assert.equal(produced, 2);
    assert.equal(q.full(), true);
    assert.equal(q.stats().putters, 1);
    for (let freed = 1; freed <= 3; freed++) {
      q.getNowait();
      // The blocked item is in the queue as soon as the slot frees, before the producer resumes.
      assert.equal(q.size, 2);
      assert.equal(q.stats().putters, 0);
      await turn();
      assert.equal(produced, 2 + freed);
    }
    await producer;
    assert.equal(q.size, 2);
  });

  test(`${kind} put() - blocked putters are admitted FIFO`, async () => {
    const q = make({ maxsize: 1 });
    q.putNowait(0);
    const admitted: number[] = [];
    const puts = [1, 2, 3].map((v) => q.put(v).then(() => admitted.push(v)));
    assert.equal(q.stats().putters, 3);
    const got: number[] = [];
    for (let i = 0; i < 4; i++) {
      got.push(await q.get());
      await turn();
    }
    await Promise.all(puts);
    assert.deepEqual(admitted, [1, 2, 3]);
    assert.deepEqual(got, [0, 1, 2, 3]);
  });

  test(`${kind} join() - waits until taskDone() was called for every item put`, async () => {
    const q = make();
    await q.join();
    q.putNowait(1);
    q.putNowait(2);
    const j1 = track(q.join());
    const j2 = track(q.join());
    q.getNowait();
    q.getNowait();
    q.taskDone();
    await turn();
    assert.equal(j1.state, 'pending');
    assert.equal(q.stats().joiners, 2);
    q.taskDone();
    await turn();
    assert.equal(j1.state, 'fulfilled');
    assert.equal(j2.state, 'fulfilled');
    assert.equal(q.stats().joiners, 0);
    assert.equal(q.stats().unfinished, 0);
  });

  test(`${kind} taskDone() - throws ReleaseError when called more times than items were put`, () => {
    const q = make();
    assert.throws(() => q.taskDone(), ReleaseError);
    q.putNowait(1);
    q.getNowait();
    q.taskDone();
    assert.throws(() => q.taskDone(), /taskDone\(\) called more times than items were put/);
    assert.equal(q.stats().unfinished, 0);
  });

  test(`${kind} shutdown() - put rejects, waiting putters reject, get drains then rejects`, async () => {
    const q = make({ maxsize: 2 });
    q.putNowait(1);
    q.putNowait(2);
    const blocked = q.put(3);
    q.shutdown();
    assert.equal(q.isShutDown, true);
    await assert.rejects(blocked, QueueShutDown);
    await assert.rejects(q.put(4), QueueShutDown);
    assert.throws(() => q.putNowait(4), QueueShutDown);
    assert.equal(q.stats().putters, 0);
    const drained = [await q.get(), q.getNowait()].sort();
    assert.deepEqual(drained, [1, 2]);
    await assert.rejects(q.get(), QueueShutDown);
    assert.throws(() => q.getNowait(), QueueShutDown);
    // Items got but not yet done still hold join().
    const joined = track(q.join());
    await turn();
    assert.equal(joined.state, 'pending');
    q.taskDone();
    q.taskDone();
    await turn();
    assert.equal(joined.state, 'fulfilled');
    q.shutdown();
  });

  test(`${kind} shutdown() - waiting getters reject at once`, async () => {
    const q = make();
    const a = q.get();
    const b = q.get();
    q.shutdown();
    await assert.rejects(a, QueueShutDown);
    await assert.rejects(b, QueueShutDown);
    assert.equal(q.stats().getters, 0);
  });

  test(`${kind} shutdown() - leaves no listener or timer behind for the waiters it rejects`, async () => {
    const clock = new VirtualClock();
    const q = make({ maxsize: 1, clock });
    const { controller, listeners } = countedController();
    const options = { signal: controller.signal, timeout: 1000 };
    const getter = q.get(options);
    q.putNowait(1); // served to the getter
    q.putNowait(2);
    const putter = q.put(3, options);
    const joiner = q.join(options);
    assert.equal(listeners(), 1, 'the waits on one signal share one listener');
    assert.equal(clock.pendingTimers, 2);
    const lateGetter = make({ clock });
    const late = lateGetter.get(options);
    lateGetter.shutdown();
    q.shutdown({ immediate: true });
    assert.equal(await getter, 1);
    await assert.rejects(putter, QueueShutDown);
    await assert.rejects(late, QueueShutDown);
    q.taskDone();
    await joiner;
    assert.equal(listeners(), 0);
    assert.equal(clock.pendingTimers, 0);
  });

  test(`${kind} shutdown({ immediate }) - drops the items and rejects getters and putters`, async () => {
    const q = make({ maxsize: 2 });
    const early = q.get(); // served by the first put
    q.putNowait(1);
    q.putNowait(2);
    q.putNowait(3);
    const blocked = q.put(4);
    q.shutdown({ immediate: true });
    assert.equal(await early, 1);
    await assert.rejects(blocked, QueueShutDown);
    assert.equal(q.size, 0);
    await assert.rejects(q.get(), QueueShutDown);
    assert.deepEqual(q.stats(), { size: 0, maxsize: 2, getters: 0, putters: 0, joiners: 0, unfinished: 1, shutDown: true });
  });

  test(`${kind} shutdown({ immediate }) - releases join() once only dropped items were unfinished`, async () => {
    const q = make();
    q.putNowait(1);
    q.putNowait(2);
    q.putNowait(3);
    q.getNowait(); // a consumer holds this one
    const joined = track(q.join());
    q.shutdown({ immediate: true });
    await turn();
    assert.equal(joined.state, 'pending');
    assert.equal(q.stats().unfinished, 1);
    q.taskDone();
    await turn();
    assert.equal(joined.state, 'fulfilled');

    const idle = make();
    idle.putNowait(1);
    const released = idle.join();
    idle.shutdown({ immediate: true });
    await released;
    assert.equal(idle.stats().unfinished, 0);
  });

  test(`${kind} get({ timeout }) - rejects with TimeoutError when the clock reaches it, not before`, async () => {
    const clock = new VirtualClock();
    const q = make({ clock });
    const got = track(q.get({ timeout: 100 }));
    await clock.advance(99);
    assert.equal(got.state, 'pending');
    await clock.advance(1);
    assert.equal(got.state, 'rejected');
    assert.ok(got.error instanceof TimeoutError);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(q.stats().getters, 0);
    q.putNowait(1);
    assert.equal(q.size, 1);
  });

  test(`${kind} put({ timeout }) - gives up on a full queue without enqueuing`, async () => {
    const clock = new VirtualClock();
    const q = make({ maxsize: 1, clock });
    q.putNowait(1);
    const put = track(q.put(2, { timeout: 50 }));
    await clock.advance(50);
    assert.ok(put.error instanceof TimeoutError);
    assert.equal(q.stats().putters, 0);
    assert.equal(q.getNowait(), 1);
    assert.equal(q.size, 0);
    assert.equal(q.stats().unfinished, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  test(`${kind} join({ timeout }) - gives up and leaves no joiner or timer`, async () => {
    const clock = new VirtualClock();
    const q = make({ clock });
    q.putNowait(1);
    const joined = track(q.join({ timeout: 10 }));
    await clock.advance(10);
    assert.ok(joined.error instanceof TimeoutError);
    assert.equal(q.stats().joiners, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  test(`${kind} timeout 0 - rejects at once when it must wait, succeeds when it need not`, async () => {
    const clock = new VirtualClock();
    const q = make({ maxsize: 1, clock });
    await assert.rejects(q.get({ timeout: 0 }), TimeoutError);
    await q.put(1, { timeout: 0 });
    await assert.rejects(q.put(2, { timeout: 0 }), TimeoutError);
    assert.equal(await q.get({ timeout: 0 }), 1);
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual([q.stats().getters, q.stats().putters, q.size], [0, 0, 0]);
  });

  test(`${kind} a waiter served in time clears its timer`, async () => {
    const clock = new VirtualClock();
    const q = make({ maxsize: 1, clock });
    const got = q.get({ timeout: 100 });
    assert.equal(clock.pendingTimers, 1);
    q.putNowait(5);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(await got, 5);
    q.putNowait(6);
    const put = q.put(7, { timeout: 100 });
    q.getNowait();
    await put;
    const joined = q.join({ timeout: 100 });
    q.getNowait();
    q.taskDone();
    q.taskDone();
    q.taskDone();
    await joined;
    assert.equal(clock.pendingTimers, 0);
  });

  test(`${kind} get({ signal }) - abort rejects with the reason and leaves no waiter or listener`, async () => {
    const q = make();
    const { controller, listeners } = countedController();
    const got = q.get({ signal: controller.signal });
    assert.equal(listeners(), 1);
    const reason = new Error('stop');
    controller.abort(reason);
    await assert.rejects(got, (e) => e === reason);
    assert.equal(listeners(), 0);
    assert.equal(q.stats().getters, 0);
    q.putNowait(1);
    assert.equal(q.size, 1, 'the item stays in the queue, not handed to the cancelled getter');
  });

  test(`${kind} put({ signal }) - abort while blocked enqueues nothing; the next putter gets the slot`, async () => {
    const q = make({ maxsize: 1 });
    q.putNowait(1);
    const { controller, listeners } = countedController();
    const cancelled = q.put(2, { signal: controller.signal });
    const next = q.put(3);
    controller.abort('no');
    await assert.rejects(cancelled, (e) => e === 'no');
    assert.equal(listeners(), 0);
    assert.equal(q.stats().putters, 1);
    assert.equal(q.getNowait(), 1);
    await next;
    assert.equal(q.getNowait(), 3);
    assert.equal(q.stats().unfinished, 2);
  });

  test(`${kind} a putter that gave up in the middle of the line never enqueues its item`, async () => {
    const q = make({ maxsize: 1 });
    q.putNowait(0);
    const controller = new AbortController();
    const first = q.put(1);
    const middle = q.put(99, { signal: controller.signal });
    const last = q.put(2);
    controller.abort('x');
    await assert.rejects(middle, (e) => e === 'x');
    const got = [q.getNowait(), q.getNowait(), q.getNowait()];
    await Promise.all([first, last]);
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(q.size, 0);
    assert.equal(q.stats().unfinished, 3);
  });

  test(`${kind} join({ signal }) - abort rejects and removes the joiner and listener`, async () => {
    const q = make();
    q.putNowait(1);
    const { controller, listeners } = countedController();
    const joined = q.join({ signal: controller.signal });
    controller.abort('bye');
    await assert.rejects(joined, (e) => e === 'bye');
    assert.equal(listeners(), 0);
    assert.equal(q.stats().joiners, 0);
  });

  test(`${kind} an already-aborted signal rejects without taking or adding an item`, async () => {
    const q = make();
    q.putNowait(1);
    const signal = AbortSignal.abort('gone');
    await assert.rejects(q.get({ signal }), (e) => e === 'gone');
    await assert.rejects(q.put(2, { signal }), (e) => e === 'gone');
    await assert.rejects(q.join({ signal }), (e) => e === 'gone');
    assert.equal(q.size, 1);
    assert.equal(q.stats().unfinished, 1);
  });

  test(`${kind} a getter served before its abort keeps the item (nothing is lost)`, async () => {
    const q = make();
    const { controller, listeners } = countedController();
    const got = q.get({ signal: controller.signal });
    q.putNowait(42);
    controller.abort(new Error('too late'));
    assert.equal(await got, 42);
    assert.equal(listeners(), 0);
    assert.deepEqual([q.size, q.stats().getters, q.stats().unfinished], [0, 0, 1]);
  });

  test(`${kind} a getter handed an item while its signal's abort is being dispatched keeps it`, async () => {
    const q = make();
    const controller = new AbortController();
    // This listener runs first and serves the getter during the abort dispatch.
    controller.signal.addEventListener('abort', () => q.putNowait(1), { once: true });
    const got = q.get({ signal: controller.signal });
    controller.abort('late');
    assert.equal(await got, 1);
    assert.deepEqual([q.size, q.stats().getters, q.stats().unfinished], [0, 0, 1]);
  });

  test(`${kind} a getter timing out in the same turn as a put keeps the item`, async () => {
    const clock = new VirtualClock();
    const q = make({ clock });
    const got = q.get({ timeout: 10 });
    const expiry = clock.advance(10); // fires on a later turn
    q.putNowait(9);
    await expiry;
    assert.equal(await got, 9);
    assert.equal(clock.pendingTimers, 0);
  });

  test(`${kind} a getter that gave up is skipped: the item goes to the next getter`, async () => {
    const q = make();
    const controller = new AbortController();
    const first = q.get({ signal: controller.signal });
    const second = q.get();
    controller.abort('x');
    q.putNowait(1);
    await assert.rejects(first, (e) => e === 'x');
    assert.equal(await second, 1);
    assert.equal(q.size, 0);
  });

  test(`${kind} a getter that gave up in the middle of the line is skipped`, async () => {
    const q = make();
    const controller = new AbortController();
    const first = q.get();
    const middle = q.get({ signal: controller.signal });
    const last = q.get();
    controller.abort('x');
    q.putNowait(1);
    q.putNowait(2);
    await assert.rejects(middle, (e) => e === 'x');
    assert.deepEqual(await Promise.all([first, last]), [1, 2]);
    assert.equal(q.size, 0);
  });

  test(`${kind} many waiters giving up between live ones do not pile up or reorder the line`, async () => {
    const q = make();
    const first = q.get();
    const controllers = Array.from({ length: 1000 }, () => new AbortController());
    const gaveUp = controllers.map((c) => q.get({ signal: c.signal }).catch(() => 'gave up'));
    const last = q.get();
    for (const c of controllers) c.abort();
    assert.equal(q.stats().getters, 2);
    q.putNowait(1);
    q.putNowait(2);
    q.putNowait(3);
    assert.deepEqual(await Promise.all([first, last]), [1, 2]);
    assert.equal(q.size, 1);
    assert.ok((await Promise.all(gaveUp)).every((r) => r === 'gave up'));
  });

  test(`${kind} for await - ends once shut down and drained; the consumer calls taskDone()`, async () => {
    const q = make();
    for (const v of [1, 2, 3]) q.putNowait(v);
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const item of q) {
        seen.push(item);
        q.taskDone();
      }
    })();
    await q.join();
    assert.equal(seen.length, 3);
    q.putNowait(4);
    q.shutdown();
    await consumer;
    assert.deepEqual(seen.sort(), [1, 2, 3, 4]);
    assert.equal(q.stats().unfinished, 0);
  });

  test(`${kind} for await - breaking out takes nothing more`, async () => {
    const q = make();
    for (const v of [1, 2, 3]) q.putNowait(v);
    for await (const _ of q) break;
    assert.equal(q.size, 2);
    assert.equal(q.stats().getters, 0);
  });

  test(`${kind} iterate({ signal }) - abort while waiting ends the loop with the reason`, async () => {
    const q = make();
    const controller = new AbortController();
    const loop = (async () => {
      for await (const _ of q.iterate({ signal: controller.signal })) q.taskDone();
    })();
    q.putNowait(1);
    await turn();
    controller.abort('done');
    await assert.rejects(loop, (e) => e === 'done');
    assert.equal(q.stats().getters, 0);
  });

  test(`${kind} publishes spate:wait:start only when a call must wait`, async () => {
    const q = make({ maxsize: 1 });
    const kinds: string[] = [];
    const onMessage = (message: unknown) => {
      const m = message as { primitive: unknown; kind: string };
      if (m.primitive === q) kinds.push(m.kind);
    };
    subscribe('spate:wait:start', onMessage);
    try {
      q.putNowait(1);
      q.getNowait();
      const got = q.get();
      q.putNowait(1);
      await got;
      q.putNowait(2);
      const put = q.put(3);
      const joined = q.join();
      q.getNowait();
      await put;
      q.getNowait();
      for (let i = 0; i < 4; i++) q.taskDone();
      await joined;
    } finally {
      unsubscribe('spate:wait:start', onMessage);
    }
    assert.deepEqual(kinds, ['get', 'put', 'join']);
  });

  test(`${kind} producers and consumers with backpressure and join() move every item once`, async () => {
    const clock = new VirtualClock();
    const q = make({ maxsize: 3, clock });
    const consumed: number[] = [];
    let maxSize = 0;
    const consumer = async (id: number) => {
      for await (const item of q) {
        await sleep(1 + ((item * 7 + id) % 5), { clock });
        consumed.push(item);
        q.taskDone();
      }
    };
    const producer = async (base: number) => {
      for (let i = 0; i < 50; i++) {
        await sleep(i % 3, { clock });
        await q.put(base + i);
        maxSize = Math.max(maxSize, q.size);
      }
    };
    const consumers = [0, 1, 2, 3].map(consumer);
    await clock.run(async () => {
      await Promise.all([producer(0), producer(1000)]);
      await q.join();
    });
    assert.equal(consumed.length, 100);
    assert.equal(new Set(consumed).size, 100);
    assert.ok(maxSize <= 3);
    q.shutdown();
    await Promise.all(consumers);
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(q.stats(), { size: 0, maxsize: 3, getters: 0, putters: 0, joiners: 0, unfinished: 0, shutDown: true });
  });
}

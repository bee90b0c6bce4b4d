import { test } from 'node:test';
import assert from 'node:assert/strict';
import { map, mapAll } from '../../src/core/map.ts';
import { CancelledError, InvalidArgumentError } from '../../src/core/errors.ts';
import { sleep } from '../../src/core/sleep.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { countListeners } from '../helpers/listeners.ts';

/** An endless input that records how far it was pulled and whether it was closed. */
function source() {
  const state = { pulled: 0, closed: false };
  function* items() {
    try {
      for (let i = 0; ; i++) {
        state.pulled++;
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { state, items: items() };
}

test('map() - yields in completion order with at most `concurrency` calls running', async () => {
  const clock = new VirtualClock();
  const durations = [30, 10, 20, 5, 15];
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await clock.run(async () => {
    for await (const value of map(durations, async (ms, { signal }) => {
      running++;
      peak = Math.max(peak, running);
      await sleep(ms, { signal, clock });
      running--;
      return ms;
    }, { concurrency: 2 })) seen.push(value);
  });
  // Slots: [30,10] → 10 done at 10, start 20 → 20 done at 30 with 30; then 5 and 15.
  assert.deepEqual(seen, [10, 30, 20, 5, 15]);
  assert.equal(peak, 2);
  assert.equal(clock.pendingTimers, 0);
});

test('map({ ordered }) - yields in input order however the calls finish', async () => {
  const clock = new VirtualClock();
  const seen: number[] = [];
  await clock.run(async () => {
    for await (const value of map([30, 10, 20, 5, 15], async (ms, { signal }) => {
      await sleep(ms, { signal, clock });
      return ms;
    }, { concurrency: 3, ordered: true })) seen.push(value);
  });
  assert.deepEqual(seen, [30, 10, 20, 5, 15]);
});

test('map() - passes each item its index', async () => {
  const indices: number[] = [];
  for await (const _ of map(['a', 'b', 'c'], (_item, { index }) => indices.push(index), { concurrency: 2 })) void _;
  assert.deepEqual(indices, [0, 1, 2]);
});

test('map() - pulls the input lazily: a stalled consumer holds at most 2 × concurrency items', async () => {
  const clock = new VirtualClock();
  const { state, items } = source();
  const iterator = map(items, async (i) => i, { concurrency: 4 });
  assert.equal(state.pulled, 0);
  assert.deepEqual(await iterator.next(), { done: false, value: 0 });
  await clock.flush();
  await clock.flush();
  // 1 yielded + at most 8 between input and consumer.
  assert.ok(state.pulled <= 9, `pulled ${state.pulled}`);
  await iterator.return!();
  assert.equal(state.closed, true);
});

test('map({ ordered }) - a slow head item holds back at most 2 × concurrency items', async () => {
  const clock = new VirtualClock();
  const { state, items } = source();
  const iterator = map(items, async (i, { signal }) => {
    await sleep(i === 0 ? 1000 : 1, { signal, clock });
    return i;
  }, { concurrency: 3, ordered: true });
  const first = iterator.next();
  await clock.advance(500);
  assert.equal(state.pulled, 6);
  await clock.advance(500);
  assert.deepEqual(await first, { done: false, value: 0 });
  assert.deepEqual(await iterator.next(), { done: false, value: 1 });
  await iterator.return!();
  assert.equal(state.closed, true);
  assert.equal(clock.pendingTimers, 0);
});

test('map() - a failure cancels the calls in flight, waits for them, closes the input and rethrows', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  const { state, items } = source();
  const signals: AbortSignal[] = [];
  let settledAfterAbort = 0;
  const loop = async () => {
    for await (const _ of map(items, async (i, { signal }) => {
      signals.push(signal);
      if (i === 2) {
        await sleep(5, { signal, clock });
        throw boom;
      }
      try {
        await sleep(1000, { signal, clock });
      } finally {
        await sleep(3, { clock }); // cleanup after the abort
        settledAfterAbort++;
      }
    }, { concurrency: 3 })) void _;
  };
  await assert.rejects(clock.run(loop), (e) => e === boom);
  assert.equal(settledAfterAbort, 2);
  assert.ok(signals[0]!.aborted);
  assert.ok(signals[0]!.reason instanceof CancelledError);
  assert.equal((signals[0]!.reason as Error).cause, boom);
  assert.equal(state.closed, true);
  assert.equal(clock.pendingTimers, 0);
});

test('map() - breaking out of the loop cancels the calls in flight and closes the input', async () => {
  const clock = new VirtualClock();
  const { state, items } = source();
  let cancelled = 0;
  await clock.run(async () => {
    for await (const value of map(items, async (i, { signal }) => {
      try {
        await sleep(i === 0 ? 1 : 1000, { signal, clock });
      } catch (error) {
        cancelled++;
        throw error;
      }
      return i;
    }, { concurrency: 4 })) {
      assert.equal(value, 0);
      break;
    }
  });
  assert.equal(cancelled, 4);
  assert.equal(state.closed, true);
  assert.equal(clock.pendingTimers, 0);
});

test('map() - works on async iterables and closes them on break', async () => {
  let closed = false;
  async function* items() {
    try {
      for (let i = 0; i < 100; i++) yield i;
    } finally {
      closed = true;
    }
  }
  const seen: number[] = [];
  for await (const value of map(items(), async (i) => i * 2, { concurrency: 3, ordered: true })) {
    seen.push(value);
    if (seen.length === 5) break;
  }
  assert.deepEqual(seen, [0, 2, 4, 6, 8]);
  assert.equal(closed, true);
  let all = 0;
  for await (const value of map(items(), async (i) => i, { concurrency: 7 })) all += value;
  assert.equal(all, 4950);
});

test('map() - an input iterator that throws fails the map and cancels the calls in flight', async () => {
  const clock = new VirtualClock();
  const boom = new Error('input broke');
  function* items() {
    yield 1;
    yield 2;
    throw boom;
  }
  const signals: AbortSignal[] = [];
  const loop = async () => {
    for await (const _ of map(items(), (_i, { signal }) => (signals.push(signal), sleep(100, { signal, clock })), { concurrency: 5 })) void _;
  };
  await assert.rejects(clock.run(loop), (e) => e === boom);
  assert.ok(signals.every((s) => s.aborted));
  assert.equal(clock.pendingTimers, 0);
});

test('map({ signal }) - an abort cancels the calls in flight and the loop throws the reason', async () => {
  const clock = new VirtualClock();
  const outer = new AbortController();
  const counts = countListeners(outer.signal);
  const iterator = map([1, 2, 3], (_i, { signal }) => sleep(100, { signal, clock }), { concurrency: 2, signal: outer.signal });
  const first = iterator.next();
  await clock.advance(10);
  outer.abort('stop');
  await assert.rejects(first, (e) => e === 'stop');
  assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  assert.equal(counts.added, 1);
  assert.equal(clock.pendingTimers, 0);
  const done = new AbortController();
  const doneCounts = countListeners(done.signal);
  for await (const _ of map([1], async (i) => i, { concurrency: 1, signal: done.signal })) void _;
  assert.equal(doneCounts.added, doneCounts.removed);
});

test('map() - 100k items through bounded memory: never more than 2 × concurrency items outstanding', async () => {
  const { state, items } = source();
  let yielded = 0;
  let worst = 0;
  for await (const value of map(items, async (i) => {
    worst = Math.max(worst, i - yielded);
    return i;
  }, { concurrency: 64 })) {
    yielded++;
    if (value < 0) break;
    if (yielded === 100_000) break;
  }
  assert.ok(worst <= 128, `worst outstanding ${worst}`);
  assert.ok(state.pulled <= 100_000 + 128);
  assert.equal(state.closed, true);
});

test('map() - rejects bad options synchronously', () => {
  assert.throws(() => map([1], async (i) => i, { concurrency: 0 }), InvalidArgumentError);
  assert.throws(() => map(42 as never, async (i) => i, { concurrency: 1 }), /Expected `items` to be an iterable/);
  assert.throws(() => map([1], 'f' as never, { concurrency: 1 }), InvalidArgumentError);
});

test('mapAll() - collects results in input order', async () => {
  const clock = new VirtualClock();
  const result = await clock.run(mapAll([30, 10, 20], async (ms, { signal }) => {
    await sleep(ms, { signal, clock });
    return ms * 2;
  }, { concurrency: 2 }));
  assert.deepEqual(result, [60, 20, 40]);
  assert.deepEqual(await mapAll([], async (x: number) => x, { concurrency: 1 }), []);
});

test('mapAll() - rejects with the first failure after cancelling the rest', async () => {
  const clock = new VirtualClock();
  const boom = new Error('boom');
  const signals: AbortSignal[] = [];
  const result = mapAll([1, 2, 3], async (i, { signal }) => {
    signals.push(signal);
    if (i === 2) throw boom;
    await sleep(100, { signal, clock });
  }, { concurrency: 3 });
  await assert.rejects(result, (e) => e === boom);
  assert.ok(signals[0]!.aborted);
  assert.equal(clock.pendingTimers, 0);
});

test('map() - return() while a next() is waiting settles both', async () => {
  const clock = new VirtualClock();
  const iterator = map([1, 2], (_i, { signal }) => sleep(100, { signal, clock }), { concurrency: 2 });
  const waiting = iterator.next();
  await clock.advance(0);
  await iterator.return!();
  assert.deepEqual(await waiting, { done: true, value: undefined });
  assert.equal(clock.pendingTimers, 0);
});

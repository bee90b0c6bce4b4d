import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveConcurrency, AdaptiveController, type Sample } from '../../src/download/adaptive.ts';
import { ResizableLimit } from '../../src/download/limit.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

/** A server whose throughput (bytes/ms) rises linearly to a knee, then degrades under contention. */
function curve(knee: number, perConnection = 1000) {
  return (n: number) => (n <= knee ? n * perConnection : knee * perConnection * Math.max(0.3, 1 - 0.02 * (n - knee)));
}

function drive(initial: number, max: number, throughput: (n: number) => number, intervals: number, errorsAt?: (i: number, n: number) => number) {
  const limit = new ResizableLimit(initial);
  const clock = new VirtualClock();
  let i = 0;
  const measure = (): Sample => {
    const n = limit.limit;
    const errors = errorsAt?.(i, n) ?? 0;
    i++;
    return { bytes: throughput(n) * 500, ok: n, errors, inFlight: n };
  };
  const adaptive = new AdaptiveConcurrency(limit, measure, { max, clock, intervalMs: 500 });
  return { limit, clock, adaptive, run: async () => {
    adaptive.start();
    await clock.advance(500 * intervals);
    adaptive.stop();
  } };
}

test('AdaptiveConcurrency - climbs to the knee of the throughput curve and stays near it', async () => {
  const { run, adaptive, clock } = drive(4, 64, curve(12), 60);
  await run();
  const tail = adaptive.history.slice(-20);
  assert.ok(tail.every((n) => n >= 10 && n <= 15), `tail ${tail.join(',')}`);
  assert.ok(Math.max(...adaptive.history) <= 64);
  assert.equal(clock.pendingTimers, 0, 'stop() clears the timer');
});

test('AdaptiveConcurrency - follows the knee when it moves', async () => {
  let knee = 24;
  const limit = new ResizableLimit(4);
  const clock = new VirtualClock();
  const adaptive = new AdaptiveConcurrency(limit, () => ({ bytes: curve(knee)(limit.limit) * 500, ok: 10, errors: 0, inFlight: limit.limit }), { max: 64, clock });
  adaptive.start();
  await clock.advance(500 * 40);
  assert.ok(limit.limit >= 20 && limit.limit <= 29, `at knee 24: ${limit.limit}`);
  knee = 6;
  await clock.advance(500 * 40);
  assert.ok(limit.limit >= 4 && limit.limit <= 8, `at knee 6: ${limit.limit}`);
  adaptive.stop();
});

test('AdaptiveConcurrency - never exceeds max; holds when the limit is not in use', async () => {
  const { run, adaptive } = drive(4, 10, (n) => n * 1000, 30);
  await run();
  assert.ok(adaptive.history.every((n) => n <= 10));
  assert.equal(adaptive.history.at(-1)! >= 9, true);

  const c = new AdaptiveController(4, { max: 64 });
  c.update({ bytes: 1000, ok: 1, errors: 0, inFlight: 2 }, 500);
  assert.equal(c.update({ bytes: 5000, ok: 1, errors: 0, inFlight: 2 }, 500), 4, 'only 2 of 4 in use: no growth');
});

test('AdaptiveConcurrency - halves the limit when errors climb', async () => {
  const { run, adaptive } = drive(4, 64, curve(32), 40, (i) => (i >= 20 && i < 24 ? 50 : 0));
  await run();
  const before = adaptive.history[19]!;
  const after = adaptive.history[23]!;
  assert.ok(after <= Math.ceil(before / 8), `before ${before}, after ${after}`);
  assert.ok(adaptive.history.at(-1)! > after, 'grows again once errors stop');
});

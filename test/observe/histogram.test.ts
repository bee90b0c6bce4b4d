import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, HISTOGRAM_RELATIVE_ERROR } from '../../src/observe/histogram.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';

/** A small deterministic PRNG (mulberry32), so the distributions are the same every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The nearest-rank percentile of sorted values: what the histogram approximates. */
function exact(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function assertClose(actual: number, expected: number, message: string): void {
  const error = Math.abs(actual - expected) / expected;
  assert.ok(error <= HISTOGRAM_RELATIVE_ERROR, `${message}: got ${actual}, expected ${expected} (relative error ${error})`);
}

const PERCENTILES = [1, 10, 25, 50, 75, 90, 95, 99, 99.9];

function check(values: number[], label: string): Histogram {
  const h = new Histogram();
  for (const v of values) h.record(v);
  const sorted = [...values].sort((a, b) => a - b);
  for (const p of PERCENTILES) assertClose(h.percentile(p), exact(sorted, p), `${label} p${p}`);
  return h;
}

test('percentile() - within the stated relative error on a uniform distribution', () => {
  const next = random(1);
  check(Array.from({ length: 20_000 }, () => 1 + next() * 999), 'uniform 1..1000 ms');
});

test('percentile() - within the stated relative error from 1 µs to an hour (log-uniform)', () => {
  const next = random(2);
  const low = Math.log(0.001);
  const high = Math.log(3_600_000);
  check(Array.from({ length: 20_000 }, () => Math.exp(low + next() * (high - low))), 'log-uniform 1 µs..1 h');
});

test('percentile() - within the stated relative error on a long-tailed (exponential) distribution', () => {
  const next = random(3);
  check(Array.from({ length: 20_000 }, () => -Math.log(1 - next()) * 20 + 0.05), 'exponential mean 20 ms');
});

test('percentile() - every single value in range comes back within the stated error', () => {
  const h = new Histogram();
  for (let v = 0.001; v < 60 * 60 * 1000; v *= 1.07) {
    h.reset();
    h.record(v);
    h.record(v * 4);
    h.record(v / 4);
    assertClose(h.percentile(50), v, `value ${v}`);
  }
});

test('count, sum, min, max, mean - are exact', () => {
  const h = new Histogram();
  for (const v of [3, 0.25, 7.5, 1200, 0]) h.record(v);
  assert.equal(h.count, 5);
  assert.equal(h.sum, 1210.75);
  assert.equal(h.min, 0);
  assert.equal(h.max, 1200);
  assert.equal(h.mean, 1210.75 / 5);
  assert.equal(h.percentile(0), 0);
  assert.equal(h.percentile(100), 1200);
});

test('an empty histogram reports zeros', () => {
  const h = new Histogram();
  assert.deepEqual(h.snapshot(), { count: 0, sum: 0, min: 0, max: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0 });
  assert.equal(h.countAtOrBelow(10), 0);
});

test('record() - values beyond ~19 h share the last bucket; max and sum stay exact', () => {
  const h = new Histogram();
  const week = 7 * 24 * 3600 * 1000;
  h.record(week);
  h.record(1);
  assert.equal(h.max, week);
  assert.equal(h.sum, week + 1);
  assert.equal(h.percentile(100), week);
  assert.ok(h.percentile(99) <= week);
});

test('record() - rejects negative and NaN durations', () => {
  const h = new Histogram();
  assert.throws(() => h.record(-1), InvalidArgumentError);
  assert.throws(() => h.record(Number.NaN), InvalidArgumentError);
  assert.throws(() => h.percentile(101), InvalidArgumentError);
  assert.equal(h.count, 0);
});

test('merge() - gives the same result as recording everything in one histogram', () => {
  const next = random(4);
  const values = Array.from({ length: 5000 }, () => next() * 500);
  const whole = new Histogram();
  const a = new Histogram();
  const b = new Histogram();
  values.forEach((v, i) => {
    whole.record(v);
    (i % 3 === 0 ? a : b).record(v);
  });
  a.merge(b);
  assert.deepEqual(a.snapshot(), { ...whole.snapshot(), sum: a.sum });
  assert.ok(Math.abs(a.sum - whole.sum) < 1e-6);
  assert.equal(b.count, values.length - Math.ceil(values.length / 3), 'the merged-in histogram is unchanged');
  assert.equal(a.merge(new Histogram()).count, values.length, 'merging an empty histogram changes nothing');
});

test('reset() - forgets everything; the histogram is reusable', () => {
  const h = new Histogram();
  h.record(5);
  h.record(500);
  h.reset();
  assert.equal(h.count, 0);
  assert.equal(h.percentile(50), 0);
  h.record(2);
  assert.equal(h.min, 2);
  assert.equal(h.max, 2);
  assertClose(h.percentile(50), 2, 'after reset');
});

test('countAtOrBelow() - is cumulative and reaches count at max', () => {
  const h = new Histogram();
  for (let i = 1; i <= 100; i++) h.record(i);
  assert.equal(h.countAtOrBelow(0.5), 0);
  assert.equal(h.countAtOrBelow(50), 50);
  assert.equal(h.countAtOrBelow(100), 100);
  let last = 0;
  for (let le = 0; le <= 110; le += 0.5) {
    const c = h.countAtOrBelow(le);
    assert.ok(c >= last);
    last = c;
  }
});

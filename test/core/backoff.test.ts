import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constantBackoff, exponentialBackoff } from '../../src/core/backoff.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';

test('exponentialBackoff() - full jitter draws in [0, min(max, base·factor^n)]', () => {
  const top = exponentialBackoff({ base: 100, max: 1000, random: () => 0.999999 });
  const bottom = exponentialBackoff({ base: 100, max: 1000, random: () => 0 });
  const ceilings = [100, 200, 400, 800, 1000, 1000];
  for (const [n, ceiling] of ceilings.entries()) {
    assert.ok(Math.abs(top(n) - ceiling) < 0.01, `retry ${n}: ${top(n)} ≈ ${ceiling}`);
    assert.equal(bottom(n), 0);
  }
  const half = exponentialBackoff({ base: 100, random: () => 0.5 });
  assert.equal(half(2), 200);
});

test('exponentialBackoff() - equal jitter stays in [d/2, d], none is exactly d', () => {
  const low = exponentialBackoff({ base: 100, jitter: 'equal', random: () => 0 });
  const high = exponentialBackoff({ base: 100, jitter: 'equal', random: () => 1 });
  assert.equal(low(3), 400);
  assert.equal(high(3), 800);
  const none = exponentialBackoff({ base: 50, factor: 3, max: 10_000, jitter: 'none' });
  assert.deepEqual([0, 1, 2, 3, 10].map(none), [50, 150, 450, 1350, 10_000]);
});

test('exponentialBackoff() - huge retry numbers cap at max, never Infinity or NaN', () => {
  const none = exponentialBackoff({ jitter: 'none' });
  assert.equal(none(5000), 30_000);
  const zero = exponentialBackoff({ base: 0, jitter: 'none' });
  assert.equal(zero(5000), 0);
});

test('exponentialBackoff() - rejects bad options with a clear error', () => {
  assert.throws(() => exponentialBackoff({ base: -1 }), /Expected `base` to be a finite number ≥ 0, got -1/);
  assert.throws(() => exponentialBackoff({ factor: 0.5 }), InvalidArgumentError);
  assert.throws(() => exponentialBackoff({ jitter: 'half' as never }), /`jitter`/);
});

test('constantBackoff() - the same delay every time', () => {
  const b = constantBackoff(250);
  assert.deepEqual([0, 1, 9].map(b), [250, 250, 250]);
  assert.throws(() => constantBackoff(Number.NaN), InvalidArgumentError);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK, fillBytes, hash32, mix32, mulberry32, pick, uniform } from '../../src/lab/rng.ts';

test('fillBytes() - any slice equals the same slice of a longer read, across block boundaries', () => {
  const key = hash32('file', 1);
  const whole = fillBytes(key, 0, 3 * BLOCK + 17);
  for (const [offset, length] of [[0, 1], [1, 7], [BLOCK - 3, 10], [BLOCK, BLOCK], [2 * BLOCK + 5, BLOCK + 12]] as const) {
    assert.deepEqual(fillBytes(key, offset, length), whole.subarray(offset, offset + length), `${offset}+${length}`);
  }
  assert.equal(fillBytes(key, 5, 0).length, 0);
});

test('fillBytes() - different keys give different bytes; the bytes look uniform', () => {
  const a = fillBytes(hash32('a', 1), 0, 1 << 16);
  const b = fillBytes(hash32('b', 1), 0, 1 << 16);
  assert.notDeepEqual(a, b);
  const counts = new Array<number>(256).fill(0);
  for (const x of a) counts[x]!++;
  assert.ok(Math.min(...counts) > 150 && Math.max(...counts) < 370, `${Math.min(...counts)}..${Math.max(...counts)}`);
});

test('fillBytes() - offsets far beyond 4 GiB still work and differ from low blocks', () => {
  const key = hash32('huge', 1);
  const far = fillBytes(key, 2 ** 40, 16);
  assert.equal(far.length, 16);
  assert.notDeepEqual(far, fillBytes(key, 0, 16));
  assert.deepEqual(far, fillBytes(key, 2 ** 40 - 8, 24).subarray(8));
});

test('hash32() and uniform() - deterministic, salted by seed, in [0, 1)', () => {
  assert.equal(hash32('x', 1), hash32('x', 1));
  assert.notEqual(hash32('x', 1), hash32('x', 2));
  assert.notEqual(hash32('x', 1), hash32('y', 1));
  let sum = 0;
  for (let n = 0; n < 10_000; n++) {
    const u = uniform(7, n);
    assert.ok(u >= 0 && u < 1);
    sum += u;
  }
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
  assert.notEqual(uniform(7, 2 ** 33), uniform(7, 0));
  for (let n = 0; n < 100; n++) assert.ok(pick(3, n, 5) < 5);
  assert.equal(mix32(0), 0);
});

test('mulberry32() - the same seed gives the same sequence', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  for (let i = 0; i < 10; i++) assert.equal(a(), b());
  assert.notEqual(mulberry32(1)(), mulberry32(2)());
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from '../../src/core/retry-budget.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/index.ts';

test('RetryBudget - allows ratio × requests plus the floor, then refuses', () => {
  const clock = new VirtualClock();
  const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 0, ttlMs: 10_000, clock });
  for (let i = 0; i < 100; i++) budget.recordRequest();
  let allowed = 0;
  while (budget.tryRetry()) allowed++;
  assert.equal(allowed, 10);
});

test('RetryBudget - the floor lets low traffic retry', () => {
  const clock = new VirtualClock();
  const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, ttlMs: 5000, clock });
  let allowed = 0;
  while (budget.tryRetry()) allowed++;
  assert.equal(allowed, 5);
});

test('RetryBudget - traffic older than the window no longer counts', async () => {
  const clock = new VirtualClock();
  const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, ttlMs: 1000, clock });
  for (let i = 0; i < 10; i++) budget.recordRequest();
  assert.equal(budget.tryRetry(), true);
  await clock.advance(1000);
  assert.deepEqual(budget.stats(), { requests: 0, retries: 0 });
  assert.equal(budget.tryRetry(), false);
});

test('RetryBudget - rejects a negative ratio', () => {
  assert.throws(() => new RetryBudget({ ratio: -1 }), InvalidArgumentError);
});

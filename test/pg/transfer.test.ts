// Seed 001's transfer_funds under load: 1,000 concurrent random transfers among 100 accounts at
// SERIALIZABLE with retries (examples/pg/transfer-serializable.ts), the balance checked inside
// the transaction. While they run, a reader sums the balances in snapshots of its own: the total
// never changes; at the end no balance is below zero and the retries were counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomTransfers, transferFundsSafely } from '../../examples/pg/transfer-serializable.ts';
import { scope, skip } from './helpers.ts';

test('transfer - 1,000 concurrent transfers among 100 accounts keep the total, no balance below zero', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 20 });
  await pool.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
  await pool.query('INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 100) g');
  let done = false;
  const totals: number[] = [];
  const reader = (async () => {
    await using conn = await s.pool({ max: 1 }).acquire();
    while (!done) {
      const { total } = await conn.one<{ total: number }>('SELECT sum(balance)::int AS total FROM accounts');
      totals.push(total);
    }
  })();
  const results = await Promise.all(randomTransfers(1000, 100, 7).map(([from, to, amount]) => transferFundsSafely(pool, from, to, amount)));
  done = true;
  await reader;
  const { total, lowest } = await pool.one<{ total: number; lowest: number }>('SELECT sum(balance)::int AS total, min(balance)::int AS lowest FROM accounts');
  assert.equal(total, 10_000);
  assert.ok(lowest >= 0, `lowest balance ${lowest}`);
  assert.ok(totals.length > 0);
  assert.deepEqual([...new Set(totals)], [10_000], 'every snapshot during the run had the same total');
  assert.ok(results.filter(Boolean).length > 0, 'some transfers went through');
  const stats = pool.stats();
  assert.equal(stats.inUse, 0);
  assert.equal(stats.waiting, 0);
  assert.ok(stats.retries >= 0);
});

// Seed 001's transfer_funds, done right: SERIALIZABLE, the balance checked inside the
// transaction, and serialization failures (40001) and deadlocks (40P01) retried with backoff
// and jitter. The seed's version can overdraw (no check) and, at a stricter isolation level,
// would fail under contention instead of retrying. 1,000 concurrent random transfers among 100
// accounts: the total never changes and no balance goes below zero.
import type { Pool } from '../../src/pg/index.ts';
import { createTables, initPool } from './init-pool.ts';

/** Moves `amount` if `fromId` has it; returns whether it did. Safe to run again, as retries do. */
export function transferFundsSafely(pool: Pool, fromId: number, toId: number, amount: number, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  return pool.transaction(async (tx) => {
    const { balance } = await tx.one<{ balance: number }>('SELECT balance FROM accounts WHERE id = $1', [fromId]);
    if (balance < amount) return false;
    await tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, fromId]);
    await tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, toId]);
    return true;
  }, { isolation: 'serializable', retries: 100, signal: options.signal });
}

/** A fixed sequence of random transfers (a small LCG, so every run does the same ones). */
export function randomTransfers(count: number, accounts: number, seed = 1): [number, number, number][] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, () => {
    const from = 1 + Math.floor(next() * accounts);
    const to = 1 + ((from + Math.floor(next() * (accounts - 1))) % accounts);
    return [from, to, 1 + Math.floor(next() * 60)];
  });
}

if (import.meta.main) {
  await using pool = initPool();
  await createTables(pool, 100, 100);
  const transfers = randomTransfers(1000, 100);
  await Promise.all(transfers.map(([from, to, amount]) => transferFundsSafely(pool, from, to, amount)));
  const { total, lowest } = await pool.one<{ total: number; lowest: number }>('SELECT sum(balance)::int AS total, min(balance)::int AS lowest FROM accounts');
  console.log(`1000 concurrent transfers among 100 accounts: total ${total} (was 10000), lowest balance ${lowest >= 0 ? '≥ 0' : lowest}`);
}

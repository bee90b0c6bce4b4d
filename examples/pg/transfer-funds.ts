// Seed 001 §三.2: transfer_funds(pool, from_id, to_id, amount) — two UPDATEs in
// `async with conn.transaction()`.
// The same shape: the transaction commits when the function returns and rolls back when it
// throws. Here the CHECK constraint refuses an overdraft, and the whole transfer is undone.
import { PgConstraintError, type Pool } from '../../src/pg/index.ts';
import { createTables, initPool } from './init-pool.ts';

export async function transferFunds(pool: Pool, fromId: number, toId: number, amount: number): Promise<void> {
  await using conn = await pool.acquire();
  await conn.transaction(async (tx) => {
    await tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, fromId]);
    await tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, toId]);
  });
}

if (import.meta.main) {
  await using pool = initPool();
  await createTables(pool);
  await transferFunds(pool, 1, 2, 30);
  try {
    await transferFunds(pool, 1, 2, 500);
  } catch (error) {
    if (!(error instanceof PgConstraintError)) throw error;
    console.log(`refused: ${error.constraint}`);
  }
  const rows = await pool.many<{ id: number; balance: number }>('SELECT id, balance FROM accounts ORDER BY id');
  console.log(rows.map((r) => `account ${r.id}: ${r.balance}`).join(', '));
}

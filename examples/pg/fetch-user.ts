// Seed 001 §三.2: fetch_user(pool, user_id) — `async with pool.acquire() as conn: return await
// conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)`.
// `await using` gives the connection back however the block ends; `maybeOne` is fetchrow (null
// when there is no such user), `one` when a missing row is an error.
import type { Pool } from '../../src/pg/index.ts';
import { createTables, initPool } from './init-pool.ts';

export async function fetchUser(pool: Pool, userId: number): Promise<Record<string, unknown> | null> {
  await using conn = await pool.acquire();
  return conn.maybeOne('SELECT * FROM users WHERE id = $1', [userId]);
}

if (import.meta.main) {
  await using pool = initPool();
  await createTables(pool);
  console.log('user 1:', JSON.stringify(await fetchUser(pool, 1)));
  console.log('user 9:', JSON.stringify(await fetchUser(pool, 9)));
}

// What seed 001's pool.acquire() lacks: a bound. asyncpg waits for a free connection forever;
// here `acquire({ timeout })` gives up with PgAcquireTimeoutError — "waited too long for a
// connection", which is not "the query was slow" — and leaves no waiter behind in the line.
import { PgAcquireTimeoutError } from '../../src/pg/index.ts';
import { createTables, initPool } from './init-pool.ts';

await using pool = initPool({ max: 2 });
await createTables(pool);
const held = [await pool.acquire(), await pool.acquire()];
try {
  await pool.acquire({ timeout: 100 });
} catch (error) {
  if (!(error instanceof PgAcquireTimeoutError)) throw error;
  console.log(`${error.code}: no connection within 100 ms`);
}
console.log(`waiting after the timeout: ${pool.stats().waiting}`);
await Promise.all(held.map((conn) => conn.release()));
console.log('after release:', JSON.stringify(await pool.one('SELECT 1 AS ok', [], { timeout: 1000 })));

// What seed 001's command_timeout=60 does not do: stop the statement. asyncpg's and
// node-postgres's timeouts only stop the client waiting while the server works on; spate/pg sends
// PostgreSQL's cancel request and returns once the server has stopped, and the connection runs
// the next statement. (PGlite, the embedded default, runs on this thread and cannot be
// interrupted: there the deadline is checked when the statement ends.)
import { PgQueryTimeoutError } from '../../src/pg/index.ts';
import { initPool } from './init-pool.ts';

await using pool = initPool({ max: 1 });
await using conn = await pool.acquire();
const seconds = pool.embedded ? 1 : 10;
try {
  await conn.query(`SELECT pg_sleep(${seconds})`, [], { timeout: 200 });
} catch (error) {
  if (!(error instanceof PgQueryTimeoutError)) throw error;
  console.log(`${error.code}: pg_sleep ran past its 200 ms timeout`);
}
const { n } = await conn.one<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'");
console.log(`pg_sleep still running on the server: ${n}`);
console.log('same connection, next statement:', JSON.stringify(await conn.one('SELECT 1 AS ok')));

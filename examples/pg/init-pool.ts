// Seed 001 §三.2 "数据库连接池优化": init_pool() — asyncpg.create_pool(min_size=5, max_size=20,
// command_timeout=60, host='localhost', user='postgres').
// spate/pg's Pool takes the same sizes; command_timeout becomes commandTimeout, which cancels the
// statement on the server instead of only giving up waiting. With no server named (no --db, no
// DATABASE_URL) it runs on PGlite, PostgreSQL in this process, so the examples need nothing else.
import { Pool } from '../../src/pg/index.ts';

/** `--db URL` on the command line, else DATABASE_URL, else the embedded PGlite. */
export function databaseUrl(): string | undefined {
  const at = process.argv.indexOf('--db');
  return at > 0 ? process.argv[at + 1] : process.env.DATABASE_URL;
}

/** The examples' tables live in a schema of their own on a real server (PG_SCHEMA, default spate_examples). */
export const schema = process.env.PG_SCHEMA ?? 'spate_examples';

export function initPool(options: { max?: number; acquireTimeout?: number } = {}): Pool {
  const url = databaseUrl();
  const server = url !== undefined && !url.startsWith('pglite:');
  return new Pool({
    ...(server ? { config: { connectionString: url, options: `-c search_path=${schema}` } } : { url: url ?? 'pglite://memory' }),
    min: server ? Math.min(5, options.max ?? 20) : 0,
    max: options.max ?? 20,
    commandTimeout: 60_000,
    acquireTimeout: options.acquireTimeout,
    metrics: false,
  });
}

/** The seed's tables: users, and accounts with a balance that may not go below zero. */
export async function createTables(pool: Pool, accounts = 2, balance = 100): Promise<void> {
  if (!pool.embedded) {
    const admin = new Pool({ url: databaseUrl()!, max: 1, metrics: false });
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await admin.close();
  }
  await pool.query('DROP TABLE IF EXISTS users, accounts');
  await pool.query('CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL)');
  await pool.query("INSERT INTO users VALUES (1, 'Ada', 'ada@example.com'), (2, 'Bo', 'bo@example.com')");
  await pool.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL CONSTRAINT balance_nonnegative CHECK (balance >= 0))');
  await pool.query('INSERT INTO accounts SELECT g, $1 FROM generate_series(1, $2::int) g', [balance, accounts]);
}

if (import.meta.main) {
  await using pool = initPool();
  await createTables(pool);
  const { n } = await pool.one<{ n: number }>('SELECT count(*)::int AS n FROM users');
  console.log(`pool ready: ${pool.embedded ? 'embedded PGlite' : 'server'}, max ${pool.stats().max}, ${n} users`);
}

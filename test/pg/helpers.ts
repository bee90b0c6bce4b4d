// The real PostgreSQL for the pg tests: 127.0.0.1:5432, trust auth, database `test` (or
// PGHOST/PGPORT/PGDATABASE/PGUSER). Under CI=true the server must answer; elsewhere the tests
// skip with one line when it does not. Each test gets a schema of its own, dropped at the end,
// and an application_name of its own, so pg_stat_activity shows exactly its connections.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { MetricsRegistry } from '../../src/observe/index.ts';
import { Pool, type PoolOptions } from '../../src/pg/index.ts';

export const server = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  database: process.env.PGDATABASE ?? 'test',
  user: process.env.PGUSER ?? 'postgres',
};
export const serverUrl = `postgres://${server.user}@${server.host}:${server.port}/${server.database}`;

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ ...server, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${server.host}:${server.port} does not answer (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const missing = await probe();
if (missing !== undefined && process.env.CI === 'true') throw new Error(`${missing}, and CI=true: pg tests must run`);
if (missing !== undefined) console.log(`# skipping pg tests: ${missing}`);

/** `test(name, { skip }, fn)`: false when the server answers. */
export const skip: string | false = missing ?? false;

/** A plain client on the server (for watching pg_stat_activity, setting up tables). */
export async function admin(): Promise<pg.Client & AsyncDisposable> {
  const client = new pg.Client(server) as pg.Client & AsyncDisposable;
  await client.connect();
  client[Symbol.asyncDispose] = () => client.end();
  return client;
}

export interface Scope extends AsyncDisposable {
  readonly schema: string;
  readonly app: string;
  readonly registry: MetricsRegistry;
  readonly admin: pg.Client;
  pool(options?: PoolOptions): Pool;
  /** This scope's connections open on the server, from pg_stat_activity. */
  connections(): Promise<number>;
}

/** A schema and application name for one test; disposing closes its pools and drops the schema. */
export async function scope(): Promise<Scope> {
  const id = randomBytes(4).toString('hex');
  const schema = `spate_test_${id}`;
  const app = `spate_test_${id}`;
  const client = await admin();
  await client.query(`CREATE SCHEMA ${schema}`);
  const registry = new MetricsRegistry();
  const pools: Pool[] = [];
  return {
    schema,
    app,
    registry,
    admin: client,
    pool(options = {}) {
      const pool = new Pool({
        config: { ...server, application_name: app, options: `-c search_path=${schema}` },
        metrics: registry,
        name: app,
        ...options,
      });
      pools.push(pool);
      return pool;
    },
    async connections() {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]);
      return rows[0].n as number;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(pools.map((p) => p.destroy()));
      await client.query(`DROP SCHEMA ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** Resolves once `predicate` holds, polling the server (pg_stat_activity updates asynchronously). */
export async function eventually(predicate: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await predicate()) return;
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

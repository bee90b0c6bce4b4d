// The pg group: seed 001's fetch_user (fetchrow by primary key) and transfer_funds, 50 concurrent
// callers over a pool of 20 (min 5, command_timeout 60 s as the seed sets them), spate/pg against
// bare node-postgres, bare postgres.js and asyncpg (Debian's python3-asyncpg). Against the real
// PostgreSQL at PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/test), in a schema of
// its own that setup creates and close drops.
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import type { Case, Variant } from '../run.ts';

const url = process.env.PG_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = 'spate_bench_pg';

function asyncpg(): string | undefined {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import asyncpg'], { stdio: 'ignore' });
  return r.status === 0 ? '/usr/bin/python3' : undefined;
}

async function setup(): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.query(`CREATE TABLE ${schema}.users (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  await client.query(`INSERT INTO ${schema}.users (id, name, email) SELECT g, 'user ' || g, 'user' || g || '@example.com' FROM generate_series(1, 10000) g`);
  await client.query(`CREATE TABLE ${schema}.accounts (id int PRIMARY KEY, balance bigint NOT NULL)`);
  await client.query(`INSERT INTO ${schema}.accounts SELECT g, 1000000 FROM generate_series(1, 1000) g`);
  await client.query(`ANALYZE ${schema}.users; ANALYZE ${schema}.accounts`);
  return {
    env: { PG_BENCH_URL: url, PG_BENCH_SCHEMA: schema },
    async close() {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

export function cases(quick: boolean): Case[] {
  const seconds = quick ? 3 : 6;
  const py = asyncpg();
  const variants = (workload: string, extra: string[] = []): Variant[] => [
    ...['spate', 'pg', 'postgres-js'].map((impl) => ({ impl, command: ['node', `pg/${workload}.ts`, impl, `--seconds=${seconds}`, ...extra] })),
    {
      impl: 'asyncpg',
      command: ['/usr/bin/python3', 'python/pg_bench.py', workload, `--seconds=${seconds}`, ...extra],
      skip: () => (py ? undefined : 'python3-asyncpg not installed (apt-get install python3-asyncpg)'),
    },
  ];
  let reachable: string | undefined;
  const probe = () => {
    if (reachable !== undefined) return reachable || undefined;
    const r = spawnSync(process.execPath, ['-e', `const pg=require('pg');const c=new pg.Client(${JSON.stringify(url)});c.connect().then(()=>c.end()).catch(()=>process.exit(1))`], { cwd: import.meta.dirname, stdio: 'ignore' });
    reachable = r.status === 0 ? '' : `PostgreSQL at ${url} does not answer`;
    return reachable || undefined;
  };
  const guard = (vs: Variant[]) => vs.map((v) => ({ ...v, skip: () => probe() ?? v.skip?.() }));
  return [
    { bench: 'pg/fetchrow', unit: 'ops/s', higherIsBetter: true, setup, variants: guard(variants('fetchrow')) },
    { bench: 'pg/transfer-read-committed', unit: 'ops/s', higherIsBetter: true, setup, variants: guard(variants('transfer', ['--serializable=0'])) },
    { bench: 'pg/transfer-serializable', unit: 'ops/s', higherIsBetter: true, setup, variants: guard(variants('transfer', ['--serializable=1'])) },
  ];
}

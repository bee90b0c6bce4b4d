// The real PostgreSQL of the test machines (127.0.0.1:5432, trust, db `test`). Under CI=true a
// test that needs it never skips; elsewhere it skips with one line when the server does not answer.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.SPATE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** undefined when the server answers; otherwise the one line a skipped test prints. */
export async function postgresMissing(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (error) {
    if (process.env.CI === 'true') throw new Error(`PostgreSQL at ${PG_URL} does not answer (CI=true never skips): ${(error as Error).message}`);
    return `PostgreSQL at ${PG_URL} does not answer: skipped`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh schema name for one test. */
export function testSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Drops schemas (cascade); used in `after`. */
export async function dropSchemas(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const name of names) await client.query(`drop schema if exists "${name}" cascade`);
  } finally {
    await client.end();
  }
}

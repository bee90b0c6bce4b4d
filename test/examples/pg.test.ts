// The pg examples of seed 001 run as programs, as a user would run them, on the real PostgreSQL
// (each run in a schema of its own, dropped at the end); init-pool also runs with no server
// named, on the embedded PGlite, which is what `npx node examples/pg/…` does on a bare machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { admin, serverUrl, skip } from '../pg/helpers.ts';

const schema = `spate_ex_${randomBytes(4).toString('hex')}`;

async function run(name: string, env: Record<string, string | undefined>): Promise<string[]> {
  const file = fileURLToPath(new URL(`../../examples/pg/${name}.ts`, import.meta.url));
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [file], { timeout: 240_000, env: { ...process.env, ...env } });
  assert.equal(stderr, '', `${name} wrote to stderr`);
  return stdout.trimEnd().split('\n');
}
const onServer = (name: string) => run(name, { DATABASE_URL: serverUrl, PG_SCHEMA: schema });

test.after(async () => {
  if (skip !== false) return;
  await using client = await admin();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
});

test('examples/pg - init-pool, fetch-user, transfer-funds: the seed\'s three functions', { skip }, async () => {
  assert.deepEqual(await onServer('init-pool'), ['pool ready: server, max 20, 2 users']);
  assert.deepEqual(await onServer('fetch-user'), ['user 1: {"id":1,"name":"Ada","email":"ada@example.com"}', 'user 9: null']);
  assert.deepEqual(await onServer('transfer-funds'), ['refused: balance_nonnegative', 'account 1: 70, account 2: 130']);
});

test('examples/pg - bounded-acquire and query-timeout', { skip }, async () => {
  assert.deepEqual(await onServer('bounded-acquire'), [
    'SPATE_PG_ACQUIRE_TIMEOUT: no connection within 100 ms',
    'waiting after the timeout: 0',
    'after release: {"ok":1}',
  ]);
  assert.deepEqual(await onServer('query-timeout'), [
    'SPATE_PG_QUERY_TIMEOUT: pg_sleep ran past its 200 ms timeout',
    'pg_sleep still running on the server: 0',
    'same connection, next statement: {"ok":1}',
  ]);
});

test('examples/pg - transfer-serializable keeps the total', { skip }, async () => {
  assert.deepEqual(await onServer('transfer-serializable'), ['1000 concurrent transfers among 100 accounts: total 10000 (was 10000), lowest balance ≥ 0']);
});

test('examples/pg - init-pool runs with no server named, on the embedded PGlite', async () => {
  assert.deepEqual(await run('init-pool', { DATABASE_URL: undefined }), ['pool ready: embedded PGlite, max 1, 2 users']);
});

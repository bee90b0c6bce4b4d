// The embedded default behind the same interface: PGlite in this process, no server. One pool
// for the whole file, since starting PGlite takes a second or more.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool, PgConstraintError, PgQueryTimeoutError, parseDatabaseUrl } from '../../src/pg/index.ts';

const pool = new Pool({ url: 'pglite://memory', metrics: false });
after(() => pool.close());

test('embedded - pglite:// URLs name the embedded database; postgres:// a server', () => {
  assert.deepEqual(parseDatabaseUrl('pglite://memory'), { kind: 'embedded', dataDir: undefined });
  assert.deepEqual(parseDatabaseUrl('pglite://./data/pg'), { kind: 'embedded', dataDir: './data/pg' });
  assert.deepEqual(parseDatabaseUrl('postgres://u@h/db'), { kind: 'server', config: { connectionString: 'postgres://u@h/db' } });
  assert.equal(pool.embedded, true);
  assert.equal(pool.stats().max, 1);
});

test('embedded - queries, row helpers, constraint errors', async () => {
  await pool.query('CREATE TABLE users (id int PRIMARY KEY, name text)');
  await pool.query('INSERT INTO users VALUES ($1, $2), ($3, $4)', [1, 'ada', 2, 'bob']);
  assert.deepEqual(await pool.one('SELECT * FROM users WHERE id = $1', [1]), { id: 1, name: 'ada' });
  assert.equal(await pool.maybeOne('SELECT * FROM users WHERE id = $1', [3]), null);
  const error = await pool.query('INSERT INTO users VALUES ($1, $2)', [1, 'again']).catch((e: unknown) => e);
  assert.ok(error instanceof PgConstraintError, String(error));
  assert.equal(error.constraint, 'users_pkey');
});

test('embedded - transactions with savepoints, and a cursor', async () => {
  await pool.query('CREATE TABLE t (x int)');
  await pool.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (1)');
    await tx.transaction(async (inner) => {
      await inner.query('INSERT INTO t VALUES (2)');
      throw new Error('undo the inner one');
    }).catch(() => undefined);
  });
  await assert.rejects(pool.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (3)');
    throw new Error('undo all');
  }));
  assert.deepEqual(await pool.many('SELECT x FROM t'), [{ x: 1 }]);
  const seen: number[] = [];
  for await (const row of pool.cursor<{ g: number }>('SELECT g FROM generate_series(1, 25) g', [], { batchSize: 10 })) seen.push(row.g);
  assert.equal(seen.length, 25);
  assert.equal(pool.stats().inUse, 0);
});

test('embedded - a statement past its timeout is reported when it ends (it cannot be interrupted)', async () => {
  await assert.rejects(pool.query('SELECT pg_sleep(0.3)', [], { timeout: 50 }), PgQueryTimeoutError);
  assert.deepEqual(await pool.one('SELECT 1 AS ok'), { ok: 1 });
});

// Statements on a leased connection against the real PostgreSQL: deadlines and signals that stop
// the work on the server (pg_stat_activity says so) and leave the connection usable, errors with
// their SQLSTATE and constraint, cursors that fetch only what is consumed, transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Barrier, ClosedError } from '../../src/core/index.ts';
import { PgCancelledError, PgConstraintError, PgQueryError, PgQueryTimeoutError, PgSerializationError } from '../../src/pg/index.ts';
import { eventually, scope, skip } from './helpers.ts';

async function running(s: { admin: { query: (q: string, v: unknown[]) => Promise<{ rows: { n: number }[] }> } }, pid: number): Promise<boolean> {
  const { rows } = await s.admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", [pid]);
  return rows[0]!.n > 0;
}

test('connection - a timeout cancels the statement on the server and the connection runs the next one', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await using conn = await pool.acquire();
  const { pid } = await conn.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const started = performance.now();
  const error = await conn.query('SELECT pg_sleep(10)', [], { timeout: 100 }).catch((e: unknown) => e);
  assert.ok(error instanceof PgQueryTimeoutError, String(error));
  assert.equal(error.code, 'SPATE_PG_QUERY_TIMEOUT');
  assert.ok(performance.now() - started < 5000, 'rejected long before pg_sleep(10) would end');
  // The call rejects only once the server stopped: nothing is running on that backend now.
  assert.equal(await running(s, pid), false);
  const again = await conn.one<{ pid: number; ok: number }>('SELECT pg_backend_pid() AS pid, 1 AS ok');
  assert.deepEqual(again, { pid, ok: 1 });
});

test('connection - an aborted signal cancels on the server and rejects with the reason', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await using conn = await pool.acquire();
  const { pid } = await conn.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const controller = new AbortController();
  const reason = new Error('user left');
  const query = conn.query('SELECT pg_sleep(10)', [], { signal: controller.signal });
  await eventually(() => running(s, pid), 'pg_sleep started');
  controller.abort(reason);
  await assert.rejects(query, (e) => e === reason);
  assert.equal(await running(s, pid), false);
  assert.deepEqual(await conn.one('SELECT 2 AS two'), { two: 2 });
});

test('connection - the pool commandTimeout is the default deadline', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1, commandTimeout: 100 });
  await assert.rejects(pool.query('SELECT pg_sleep(10)'), PgQueryTimeoutError);
  assert.deepEqual(await pool.one('SELECT 1 AS ok', [], { timeout: Infinity }), { ok: 1 });
  assert.equal(pool.stats().queryTimeouts, 1);
});

test('connection - a cancel nobody here asked for is a PgCancelledError', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await using conn = await pool.acquire();
  const { pid } = await conn.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  // The handler is attached at once: the rejection can arrive before pg_cancel_backend's own answer.
  const outcome = conn.query('SELECT pg_sleep(10)').catch((e: unknown) => e);
  await eventually(() => running(s, pid), 'pg_sleep started');
  await s.admin.query('SELECT pg_cancel_backend($1)', [pid]);
  const error = await outcome;
  assert.ok(error instanceof PgCancelledError, String(error));
  assert.equal(error.code, 'SPATE_PG_CANCELLED');
});

test('connection - a constraint error names its constraint; other server errors keep their SQLSTATE', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await pool.query('CREATE TABLE accounts (id int CONSTRAINT accounts_pkey PRIMARY KEY, balance int CONSTRAINT balance_nonnegative CHECK (balance >= 0))');
  await pool.query('INSERT INTO accounts VALUES (1, 10)');
  const dup = await pool.query('INSERT INTO accounts VALUES (1, 5)').catch((e: unknown) => e);
  assert.ok(dup instanceof PgConstraintError, String(dup));
  assert.equal(dup.constraint, 'accounts_pkey');
  assert.equal(dup.sqlState, '23505');
  const check = await pool.query('UPDATE accounts SET balance = -1').catch((e: unknown) => e);
  assert.ok(check instanceof PgConstraintError);
  assert.equal(check.constraint, 'balance_nonnegative');
  const syntax = await pool.query('SELEC 1').catch((e: unknown) => e);
  assert.ok(syntax instanceof PgQueryError && !(syntax instanceof PgConstraintError));
  assert.equal(syntax.sqlState, '42601');
});

test('connection - a released connection refuses statements', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  const conn = await pool.acquire();
  await conn.release();
  await assert.rejects(conn.query('SELECT 1'), ClosedError);
});

test('connection - a cursor fetches a batch only when the loop asks, and closes when left early', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await using conn = await pool.acquire();
  const statements = () => s.registry.histogram('spate_pg_query_duration_seconds', { pool: s.app }).count;
  const before = statements();
  const seen: number[] = [];
  for await (const row of conn.cursor<{ g: number }>('SELECT g FROM generate_series(1, $1::int) g', [100_000], { batchSize: 10 })) {
    seen.push(row.g);
    if (seen.length === 15) break;
  }
  assert.deepEqual(seen, Array.from({ length: 15 }, (_, i) => i + 1));
  // BEGIN, DECLARE, two FETCHes of 10, COMMIT: 15 rows consumed cost two batches, not 100,000 rows.
  assert.equal(statements() - before, 5);
  assert.equal(conn.inTransaction, false);
  assert.deepEqual(await conn.many('SELECT name FROM pg_cursors'), []);
});

test('connection - pool.cursor streams every row and gives the connection back', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  let sum = 0;
  for await (const row of pool.cursor<{ g: number }>('SELECT g FROM generate_series(1, 250) g', [], { batchSize: 100 })) sum += row.g;
  assert.equal(sum, (250 * 251) / 2);
  assert.equal(pool.stats().inUse, 0);
});

test('transaction - commits on return, rolls back on throw', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 2 });
  await pool.query('CREATE TABLE t (x int)');
  const result = await pool.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (1)');
    return 'done';
  });
  assert.equal(result, 'done');
  const boom = new Error('boom');
  await assert.rejects(pool.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (2)');
    throw boom;
  }), (e) => e === boom);
  assert.deepEqual(await pool.many('SELECT x FROM t'), [{ x: 1 }]);
  assert.equal(pool.stats().inUse, 0);
});

test('transaction - an abort cancels the running statement and rolls back', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await pool.query('CREATE TABLE t (x int)');
  const controller = new AbortController();
  const reason = new Error('stop');
  let pid = 0;
  const tx = pool.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (1)');
    ({ pid } = await tx.one<{ pid: number }>('SELECT pg_backend_pid() AS pid'));
    await tx.query('SELECT pg_sleep(10)');
  }, { signal: controller.signal });
  await eventually(async () => pid !== 0 && (await running(s, pid)), 'pg_sleep started in the transaction');
  controller.abort(reason);
  await assert.rejects(tx, (e) => e === reason);
  assert.deepEqual(await pool.many('SELECT x FROM t'), []);
  const { rows } = await s.admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'", [s.app]);
  assert.equal(rows[0].n, 0);
});

test('transaction - nested calls use savepoints', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await pool.query('CREATE TABLE t (x int)');
  await pool.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (1)');
    await tx.transaction(async (inner) => {
      await inner.query('INSERT INTO t VALUES (2)');
      throw new Error('inner fails');
    }).catch(() => undefined);
    await tx.transaction(async (inner) => {
      await inner.query('INSERT INTO t VALUES (3)');
    });
  });
  assert.deepEqual(await pool.many('SELECT x FROM t ORDER BY x'), [{ x: 1 }, { x: 3 }]);
});

test('transaction - a statement error caught inside is not committed', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await pool.query('CREATE TABLE t (x int PRIMARY KEY)');
  const error = await pool.transaction(async (tx) => {
    await tx.query('INSERT INTO t VALUES (1)');
    await tx.query('INSERT INTO t VALUES (1)').catch(() => undefined);
  }).catch((e: unknown) => e);
  assert.ok(error instanceof PgQueryError, String(error));
  assert.deepEqual(await pool.many('SELECT x FROM t'), []);
});

test('transaction - a serialization failure (40001) runs the transaction again', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 2 });
  await pool.query('CREATE TABLE t (id int PRIMARY KEY, n int)');
  await pool.query('INSERT INTO t VALUES (1, 0), (2, 0)');
  // Write skew: each reads both rows, then writes one; under SERIALIZABLE one of them must fail.
  const bothRead = new Barrier(2);
  let attempts = 0;
  const writer = (id: number) => pool.transaction(async (tx) => {
    attempts++;
    const { sum } = await tx.one<{ sum: number }>('SELECT sum(n)::int AS sum FROM t');
    if (attempts <= 2) await bothRead.wait();
    await tx.query('UPDATE t SET n = $1 WHERE id = $2', [sum + 1, id]);
  }, { isolation: 'serializable', retries: 5 });
  await Promise.all([writer(1), writer(2)]);
  // At least one of the two failed and ran again (SSI may fail both; then both ran again).
  assert.ok(attempts >= 3, `attempts: ${attempts}`);
  assert.equal(pool.stats().retries, attempts - 2);
  // Serialized: the second saw the first's write.
  assert.deepEqual((await pool.many('SELECT n FROM t ORDER BY n')).map((r) => r.n), [1, 2]);
  // Without retries the failure reaches the caller as a PgSerializationError.
  const gate = new Barrier(2);
  const noRetry = (id: number) => pool.transaction(async (tx) => {
    const { sum } = await tx.one<{ sum: number }>('SELECT sum(n)::int AS sum FROM t');
    await gate.wait();
    await tx.query('UPDATE t SET n = $1 WHERE id = $2', [sum + 1, id]);
  }, { isolation: 'serializable', retries: 0 });
  const results = await Promise.allSettled([noRetry(1), noRetry(2)]);
  const failed = results.filter((r) => r.status === 'rejected');
  assert.equal(failed.length, 1);
  assert.ok((failed[0] as PromiseRejectedResult).reason instanceof PgSerializationError);
  assert.equal(((failed[0] as PromiseRejectedResult).reason as PgSerializationError).code, 'SPATE_PG_SERIALIZATION');
});

test('transaction - options are checked', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  assert.throws(() => pool.transaction(async () => undefined, { isolation: 'snapshot' as never }), /isolation/);
  assert.throws(() => pool.transaction(async () => undefined, { retries: -1 }), /retries/);
});

// The pool against the real PostgreSQL: FIFO acquire that leaves no waiter behind, acquire
// timeout told apart from query timeout, broken and old connections evicted, close() that
// drains, no connection leaked (counted in pg_stat_activity), metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { ClosedError } from '../../src/core/index.ts';
import { Pool, PgAcquireTimeoutError, PgConnectionError, PgNoRowsError, PgTooManyRowsError } from '../../src/pg/index.ts';
import { eventually, scope, server, skip } from './helpers.ts';

test('pool - query, one, maybeOne, many', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 2 });
  await pool.query('CREATE TABLE users (id int PRIMARY KEY, name text)');
  const { rowCount } = await pool.query('INSERT INTO users VALUES ($1, $2), ($3, $4)', [1, 'ada', 2, 'bob']);
  assert.equal(rowCount, 2);
  assert.deepEqual(await pool.one('SELECT * FROM users WHERE id = $1', [1]), { id: 1, name: 'ada' });
  assert.equal(await pool.maybeOne('SELECT * FROM users WHERE id = $1', [9]), null);
  await assert.rejects(pool.one('SELECT * FROM users WHERE id = $1', [9]), PgNoRowsError);
  await assert.rejects(pool.maybeOne('SELECT * FROM users'), PgTooManyRowsError);
  assert.deepEqual((await pool.many('SELECT name FROM users ORDER BY id')).map((r) => r.name), ['ada', 'bob']);
});

test('pool - waiters are served FIFO', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  const first = await pool.acquire();
  const order: number[] = [];
  const waiters = [1, 2, 3].map((n) => pool.acquire().then(async (conn) => {
    order.push(n);
    await conn.release();
  }));
  assert.equal(pool.stats().waiting, 3);
  await first.release();
  await Promise.all(waiters);
  assert.deepEqual(order, [1, 2, 3]);
});


test('pool - an acquire timeout is a PgAcquireTimeoutError and leaves no waiter', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  const held = await pool.acquire();
  const error = await pool.acquire({ timeout: 50 }).catch((e: unknown) => e);
  assert.ok(error instanceof PgAcquireTimeoutError, String(error));
  assert.equal(error.code, 'SPATE_PG_ACQUIRE_TIMEOUT');
  assert.equal(pool.stats().waiting, 0);
  assert.equal(pool.stats().acquireTimeouts, 1);
  await held.release();
  assert.deepEqual(await pool.one('SELECT 1 AS ok'), { ok: 1 });
});

test('pool - an aborted acquire rejects with the reason and leaves no waiter', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  const held = await pool.acquire();
  const controller = new AbortController();
  const waiting = pool.acquire({ signal: controller.signal });
  assert.equal(pool.stats().waiting, 1);
  const reason = new Error('user gave up');
  controller.abort(reason);
  await assert.rejects(waiting, (e) => e === reason);
  assert.equal(pool.stats().waiting, 0);
  await held.release();
  assert.equal(pool.stats().inUse, 0);
});

test('pool - await using gives the connection back', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  {
    await using conn = await pool.acquire();
    await conn.query('SELECT 1');
    assert.equal(pool.stats().inUse, 1);
  }
  assert.equal(pool.stats().inUse, 0);
  assert.equal(pool.stats().idle, 1);
});

test('pool - a connection left inside a transaction is rolled back before reuse', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  await pool.query('CREATE TABLE t (x int)');
  const conn = await pool.acquire();
  await conn.query('BEGIN');
  await conn.query('INSERT INTO t VALUES (1)');
  assert.equal(conn.inTransaction, true);
  await conn.release();
  const again = await pool.acquire();
  assert.equal(again.inTransaction, false);
  assert.deepEqual(await again.many('SELECT * FROM t'), []);
  await again.release();
});

test('pool - a broken connection is evicted and replaced', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1 });
  const conn = await pool.acquire();
  const { pid } = await conn.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await s.admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await assert.rejects(conn.query('SELECT 1'), (e) => e instanceof PgConnectionError || (e as { sqlState?: string }).sqlState === '57P01');
  await conn.release();
  const { pid: next } = await pool.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  assert.notEqual(next, pid);
  assert.equal(pool.stats().size, 1);
});

test('pool - a connection past maxLifetime is closed when it comes back', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1, maxLifetime: 0 });
  const a = await pool.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const b = await pool.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  assert.notEqual(a.pid, b.pid);
  await eventually(async () => (await s.connections()) === 0, 'old connections closed on the server');
});

test('pool - min connections are opened at construction; close() drains, then closes all', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ min: 3, max: 5 });
  await eventually(async () => pool.stats().size === 3, 'three connections opened');
  assert.equal(await s.connections(), 3);
  const conn = await pool.acquire();
  let closed = false;
  const closing = pool.close().then(() => (closed = true));
  await assert.rejects(pool.acquire(), ClosedError);
  assert.deepEqual(await conn.one('SELECT 1 AS still'), { still: 1 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(closed, false, 'close() waits for the leased connection');
  await conn.release();
  await closing;
  await eventually(async () => (await s.connections()) === 0, 'every connection closed on the server');
});

test('pool - no connection leaks after many timeouts and aborts', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 4 });
  const work = Array.from({ length: 40 }, (_, i) => {
    if (i % 3 === 0) return pool.query('SELECT pg_sleep(5)', [], { timeout: 20 }).catch(() => 'timeout');
    if (i % 3 === 1) return pool.query('SELECT pg_sleep(5)', [], { signal: AbortSignal.timeout(30) }).catch(() => 'abort');
    return pool.query('SELECT 1');
  });
  await Promise.all(work);
  const stats = pool.stats();
  assert.equal(stats.waiting, 0);
  assert.equal(stats.inUse, 0);
  assert.ok(stats.size <= 4);
  const { rows } = await s.admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'", [s.app]);
  assert.equal(rows[0].n, 0, 'no statement still running on the server');
  await pool.close();
  await eventually(async () => (await s.connections()) === 0, 'every connection closed');
});

test('pool - a connect timeout closes the late socket instead of leaking it (node-postgres #3543)', { skip }, async () => {
  // A server that accepts and never answers: the connect deadline passes with the socket open.
  const sockets: Socket[] = [];
  const silent = createServer((socket) => {
    sockets.push(socket);
    socket.resume(); // reads and drops the startup packet, so the close is seen
  });
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const port = (silent.address() as { port: number }).port;
  const pool = new Pool({ config: { host: '127.0.0.1', port, user: 'postgres' }, connectTimeout: 100, metrics: false });
  const error = await pool.acquire().catch((e: unknown) => e);
  assert.ok(error instanceof PgConnectionError, String(error));
  assert.match(error.message, /timed out/);
  assert.equal(sockets.length, 1);
  if (!sockets[0]!.closed) await once(sockets[0]!, 'close');
  assert.equal(pool.stats().size, 0);
  assert.equal(pool.stats().pending, 0);
  await pool.close();
  silent.close();
});

test('pool - a refused connection is a PgConnectionError', async () => {
  const free = createServer();
  free.listen(0, '127.0.0.1');
  await once(free, 'listening');
  const port = (free.address() as { port: number }).port;
  free.close();
  await once(free, 'close');
  const pool = new Pool({ config: { host: '127.0.0.1', port, user: 'postgres' }, metrics: false });
  const error = await pool.query('SELECT 1').catch((e: unknown) => e);
  assert.ok(error instanceof PgConnectionError, String(error));
  assert.equal(error.code, 'SPATE_PG_CONNECTION');
  await pool.close();
});

test('pool - metrics on spate/observe and stats()', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 2 });
  await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2'), pool.query('SELECT 3')]);
  await pool.query('SELECT pg_sleep(5)', [], { timeout: 20 }).catch(() => undefined);
  const text = s.registry.toPrometheus();
  assert.match(text, new RegExp(`spate_pg_query_duration_seconds_count\\{pool="${s.app}"\\} 4`));
  assert.match(text, new RegExp(`spate_pg_acquire_wait_seconds_count\\{pool="${s.app}"\\} 4`));
  assert.match(text, new RegExp(`spate_pg_query_timeouts_total\\{pool="${s.app}"\\} 1`));
  assert.match(text, new RegExp(`spate_pg_connections_in_use\\{pool="${s.app}"\\} 0`));
  const stats = pool.stats();
  assert.equal(stats.queries, 4);
  assert.equal(stats.queryTimeouts, 1);
  assert.equal(stats.embedded, false);
  assert.ok(stats.queryMs.p99 >= stats.queryMs.p50);
});

test('pool - options are checked at construction', () => {
  assert.throws(() => new Pool({ url: 'mysql://x', metrics: false }), /postgres:\/\/, postgresql:\/\/ or pglite:\/\//);
  assert.throws(() => new Pool({ url: 'postgres://x', max: 0, metrics: false }), /max/);
  assert.throws(() => new Pool({ url: 'postgres://x', commandTimeout: -1, metrics: false }), /commandTimeout/);
  void server;
});

test('pool - the pool acquireTimeout is the default of acquire()', { skip }, async () => {
  await using s = await scope();
  const pool = s.pool({ max: 1, acquireTimeout: 50 });
  // Its own deadline: on a busy machine opening the connection alone can take 50 ms.
  const held = await pool.acquire({ timeout: 10_000 });
  await assert.rejects(pool.query('SELECT 1'), PgAcquireTimeoutError);
  assert.equal(pool.stats().waiting, 0);
  await held.release();
});

// The pool: spate/core's ResourcePool (FIFO waiters that leave no trace on abort or timeout,
// idle timeout, creates bound to waiters) holding database sessions, plus what a database pool
// needs on top — max connection lifetime, eviction of broken sessions, a rollback of anything
// left open before a session is lent again, and the distinction between "waited too long for a
// connection" and "the statement timed out".
import { type Clock, getClock } from '../core/clock.ts';
import { InvalidArgumentError, TimeoutError } from '../core/errors.ts';
import { type Lease, ResourcePool } from '../core/resource-pool.ts';
import { retry } from '../core/retry.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import { type MetricsRegistry, defaultRegistry } from '../observe/registry.ts';
import {
  type ConnectionContext,
  type CursorOptions,
  type QueryOptions,
  type Queryable,
  type TransactionOptions,
  Connection,
  checkTransactionOptions,
  defaultTxBackoff,
  isRetryable,
  maybeOneRow,
  oneRow,
  statementDeadlines,
  transactionOnce,
} from './connection.ts';
import { EmbeddedDatabase } from './embedded.ts';
import { PgAcquireTimeoutError } from './errors.ts';
import { PoolMetrics, watchGauges } from './metrics.ts';
import { type QueryResult, type Row, type ServerConfig, type Session, connectServer } from './session.ts';

/** Where the database is, how many connections, and the default deadlines. */
export interface PoolOptions {
  /**
   * Where the database is: `postgres://user@host:port/db` for a server, `pglite://memory` for an
   * in-process PostgreSQL (PGlite) in memory, `pglite:///path/to/dir` for one kept in a directory.
   * @default process.env.DATABASE_URL, else 'pglite://memory'
   */
  url?: string | undefined;
  /** node-postgres client settings (host, port, user, password, database, ssl, …); used instead of `url`. */
  config?: ServerConfig | undefined;
  /** Connections kept open even when idle (asyncpg's `min_size`). @default 0 */
  min?: number | undefined;
  /** Connections at most (asyncpg's `max_size`). Always 1 for PGlite. @default 10 */
  max?: number | undefined;
  /** The default acquire timeout, in ms: then `PgAcquireTimeoutError`. @default Infinity */
  acquireTimeout?: number | undefined;
  /** A connection beyond `min` idle this long is closed, in ms. @default 30_000 */
  idleTimeout?: number | undefined;
  /** A connection older than this is closed when it comes back, in ms. @default 3_600_000 */
  maxLifetime?: number | undefined;
  /** Time to open a connection, in ms: then `PgConnectionError`, and the late socket is closed. @default 10_000 */
  connectTimeout?: number | undefined;
  /** The default per-statement `timeout`, in ms (asyncpg's `command_timeout`). @default Infinity */
  commandTimeout?: number | undefined;
  /** How long a cancelled statement may take to stop before its connection is destroyed, in ms. @default 5000 */
  cancelGrace?: number | undefined;
  /** Where metrics go; `false` for none. @default defaultRegistry of spate/observe */
  metrics?: MetricsRegistry | false | undefined;
  /** The `pool` label of the metrics. @default 'default', then 'default_2', … for later pools */
  name?: string | undefined;
  /** @default the default clock, read at construction */
  clock?: Clock | undefined;
}

/** A snapshot of a pool (`pool.stats()`). */
export interface PoolStats {
  /** Open connections: idle + in use. */
  readonly size: number;
  readonly idle: number;
  readonly inUse: number;
  /** Callers waiting for a connection. */
  readonly waiting: number;
  /** Connections being opened. */
  readonly pending: number;
  readonly min: number;
  readonly max: number;
  /** Whether this is the in-process PGlite. */
  readonly embedded: boolean;
  readonly queries: number;
  readonly queryTimeouts: number;
  readonly acquireTimeouts: number;
  readonly retries: number;
  /** Median and 99th percentile of the acquire wait and of statement latency, in ms. */
  readonly acquireWaitMs: { readonly p50: number; readonly p99: number };
  readonly queryMs: { readonly p50: number; readonly p99: number };
}

/** How long `acquire` waits in line for a connection. */
export interface AcquireOptions {
  /** Stops waiting and rejects with `signal.reason`; the waiter leaves the line. */
  signal?: AbortSignal | undefined;
  /** Stops waiting after this many ms with `PgAcquireTimeoutError`. @default the pool's `acquireTimeout` */
  timeout?: number | undefined;
}

/** Pool-level transaction options: those of a transaction plus the acquire timeout. */
export interface PoolTransactionOptions extends TransactionOptions {
  /** How long to wait for a connection, per attempt. @default the pool's `acquireTimeout` */
  acquireTimeout?: number | undefined;
}

/** Where `url` points, for a pool or a CLI flag: a server config, or PGlite's data directory. */
export function parseDatabaseUrl(url: string): { kind: 'server'; config: ServerConfig } | { kind: 'embedded'; dataDir: string | undefined } {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'server', config: { connectionString: url } };
  const match = /^pglite:\/\/(.*)$/i.exec(url);
  if (match !== null) {
    const rest = match[1]!;
    return { kind: 'embedded', dataDir: rest === '' || rest === 'memory' ? undefined : rest };
  }
  throw new InvalidArgumentError(`Expected \`url\` to start with postgres://, postgresql:// or pglite://, got ${JSON.stringify(url)}`);
}

let pools = 0;
const nextName = () => (++pools === 1 ? 'default' : `default_${pools}`);

interface Context extends ConnectionContext {
  readonly metrics: PoolMetrics | undefined;
}

/**
 * A PostgreSQL connection pool (asyncpg's `create_pool`). `query`, `one`, `maybeOne`, `many`,
 * `cursor` and `transaction` borrow a connection for the call; `acquire` lends one for longer.
 *
 * @example
 * await using pool = new Pool({ url: 'postgres://postgres@127.0.0.1/test', min: 5, max: 20, commandTimeout: 60_000 });
 * const user = await pool.maybeOne('SELECT * FROM users WHERE id = $1', [1]);
 */
export class Pool implements Queryable, AsyncDisposable {
  readonly #resources: ResourcePool<Session>;
  readonly #embedded: EmbeddedDatabase | undefined;
  readonly #ctx: Context;
  readonly #maxLifetime: number;
  readonly #acquireTimeout: number;
  readonly #releaseSession: (lease: Lease<Session>, suspect: boolean) => Promise<void>;
  readonly #stopGauges: () => void;

  constructor(options: PoolOptions = {}) {
    const {
      url,
      config,
      min = 0,
      max = 10,
      acquireTimeout = Infinity,
      idleTimeout = 30_000,
      maxLifetime = 3_600_000,
      connectTimeout = 10_000,
      commandTimeout = Infinity,
      cancelGrace = 5000,
      metrics = defaultRegistry,
      name = nextName(),
      clock = getClock(),
    } = options;
    checkInteger('max', max, 1);
    checkInteger('min', min, 0);
    for (const [key, value] of Object.entries({ acquireTimeout, idleTimeout, maxLifetime, connectTimeout, commandTimeout, cancelGrace })) {
      checkNonNegative(key, value, true);
    }
    const target = config !== undefined ? { kind: 'server' as const, config } : parseDatabaseUrl(url ?? process.env.DATABASE_URL ?? 'pglite://memory');
    this.#ctx = {
      commandTimeout,
      cancelGrace,
      clock,
      metrics: metrics === false ? undefined : new PoolMetrics(metrics, name),
      deadlines: statementDeadlines(clock, commandTimeout),
    };
    this.#maxLifetime = maxLifetime;
    this.#acquireTimeout = acquireTimeout;
    if (target.kind === 'embedded') {
      const db = new EmbeddedDatabase(target.dataDir);
      this.#embedded = db;
      this.#resources = new ResourcePool<Session>({ create: () => db.open(), max: 1, clock });
    } else {
      const serverConfig = target.config;
      this.#resources = new ResourcePool<Session>({
        create: ({ signal }) => connectServer(serverConfig, connectTimeout, signal),
        destroy: (session) => session.close(),
        min,
        max,
        idleTimeout,
        clock,
      });
    }
    this.#releaseSession = (lease, suspect) => this.#giveBack(lease, suspect);
    this.#stopGauges = this.#ctx.metrics === undefined || metrics === false ? () => undefined : watchGauges(metrics, this.#ctx.metrics, this.#resources);
  }

  /** Whether this pool runs on the in-process PGlite rather than a server. */
  get embedded(): boolean {
    return this.#embedded !== undefined;
  }

  /**
   * Waits in line (FIFO) for a connection. Rejects with `PgAcquireTimeoutError` after `timeout`,
   * with `signal.reason` on abort (leaving no waiter behind), with `PgConnectionError` when a new
   * connection cannot be opened, and with `ClosedError` once the pool is closing.
   *
   * @example
   * await using conn = await pool.acquire({ timeout: 1000 });
   */
  acquire(options: AcquireOptions = {}): Promise<Connection> {
    try {
      const { signal, timeout = this.#acquireTimeout } = options;
      checkSignal(signal);
      checkNonNegative('timeout', timeout, true);
      return this.#acquire(signal, timeout);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `acquire` for the one-statement calls: only their signal stops the wait. */
  #lend(options: QueryOptions | undefined): Promise<Connection> {
    const signal = options?.signal;
    if (signal !== undefined) checkSignal(signal);
    return this.#acquire(signal, this.#acquireTimeout);
  }

  async #acquire(signal: AbortSignal | undefined, timeout: number): Promise<Connection> {
    const metrics = this.#ctx.metrics;
    const start = performance.now();
    for (;;) {
      let lease: Lease<Session>;
      try {
        lease = await this.#resources.acquire(signal === undefined && timeout === Infinity ? undefined : { signal, timeout });
      } catch (error) {
        if (error instanceof TimeoutError && !signal?.aborted) {
          metrics?.acquireTimeouts.inc();
          const { max, waiting } = this.#resources.stats();
          throw new PgAcquireTimeoutError(`Waited ${timeout} ms for a database connection (all ${max} in use, ${waiting} others waiting)`, { cause: error });
        }
        throw error;
      }
      const session = lease.resource;
      const now = performance.now();
      // A session opened for this very acquire is never too old (maxLifetime 0 would spin).
      if (session.broken || (session.createdAt < start && now - session.createdAt >= this.#maxLifetime)) {
        void lease.destroy();
        continue;
      }
      metrics?.acquireWait.record(now - start);
      return new Connection(lease, this.#ctx, this.#releaseSession);
    }
  }

  #giveBack(lease: Lease<Session>, suspect: boolean): Promise<void> {
    const session = lease.resource;
    if (!session.broken && (suspect || session.txStatus !== 'I')) return this.#cleanUp(lease, suspect);
    if (session.broken || performance.now() - session.createdAt >= this.#maxLifetime) return lease.destroy();
    lease.release();
    return Promise.resolve();
  }

  /** Gives back a session that needs a statement first. */
  async #cleanUp(lease: Lease<Session>, suspect: boolean): Promise<void> {
    const session = lease.resource;
    if (session.txStatus !== 'I') {
      // Left inside a transaction (an un-awaited call, a BEGIN by hand): never lend that on.
      await session.exec('ROLLBACK').catch(() => session.destroy());
    } else if (suspect) {
      await session.exec('SELECT 1').catch(() => session.exec('SELECT 1')).catch(() => session.destroy());
    }
    if (session.broken || performance.now() - session.createdAt >= this.#maxLifetime) await lease.destroy();
    else lease.release();
  }

  /** Runs `fn` with a connection and gives it back when `fn` settles. */
  async use<T>(fn: (conn: Connection) => T | PromiseLike<T>, options: AcquireOptions = {}): Promise<T> {
    const conn = await this.acquire(options);
    try {
      return await fn(conn);
    } finally {
      await conn.release();
    }
  }

  /**
   * Runs one statement on a connection from the pool. `options.signal` also stops the wait for a
   * connection; `options.timeout` covers only the statement (the acquire has its own).
   */
  async query<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    const conn = await this.#lend(options);
    try {
      return await conn.query<R>(text, values, options);
    } finally {
      void conn.release();
    }
  }

  /** The rows of a statement. */
  async many<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R[]> {
    return (await this.query<R>(text, values, options)).rows;
  }

  /** The one row (asyncpg's `fetchrow`): `PgNoRowsError` if none, `PgTooManyRowsError` if more. */
  async one<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R> {
    const conn = await this.#lend(options);
    try {
      return oneRow((await conn.query<R>(text, values, options)).rows);
    } finally {
      void conn.release();
    }
  }

  /** The one row, or `null`; `PgTooManyRowsError` if more. */
  async maybeOne<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R | null> {
    const conn = await this.#lend(options);
    try {
      return maybeOneRow((await conn.query<R>(text, values, options)).rows);
    } finally {
      void conn.release();
    }
  }

  /** Streams rows through a cursor on a connection held until the loop ends (see `Connection.cursor`). */
  async *cursor<R extends Row = Row>(text: string, values?: readonly unknown[], options: CursorOptions = {}): AsyncGenerator<R, void, undefined> {
    const conn = await this.acquire({ signal: options.signal });
    try {
      yield* conn.cursor<R>(text, values, options);
    } finally {
      await conn.release();
    }
  }

  /**
   * Runs `fn` in a transaction on a connection from the pool: commit on return, rollback on throw
   * or abort, and after a serialization failure (40001) or deadlock (40P01) the whole attempt —
   * acquire included — runs again, up to `retries` times, with exponential backoff and jitter.
   *
   * @example
   * await pool.transaction(async (tx) => {
   *   const { balance } = await tx.one<{ balance: number }>('SELECT balance FROM accounts WHERE id = $1', [from]);
   *   if (balance < amount) throw new Error('insufficient funds');
   *   await tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, from]);
   *   await tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, to]);
   * }, { isolation: 'serializable', retries: 10 });
   */
  transaction<T>(fn: (tx: Connection) => T | PromiseLike<T>, options: PoolTransactionOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected \`fn\` to be a function, got ${typeof fn}`);
    checkTransactionOptions(options);
    const { retries = 3, backoff = defaultTxBackoff, signal, acquireTimeout } = options;
    const timeout = acquireTimeout ?? this.#acquireTimeout;
    const once = async () => {
      checkNonNegative('timeout', timeout, true);
      const conn = await this.#acquire(signal, timeout);
      try {
        return await transactionOnce(conn, fn, options);
      } finally {
        await conn.release();
      }
    };
    if (retries === 0) return once();
    return retry(once, { retries, backoff, signal, retryOn: isRetryable, onRetry: () => this.#ctx.metrics?.retries.inc() });
  }

  /** A snapshot of the pool and its counters. */
  stats(): PoolStats {
    const s = this.#resources.stats();
    const m = this.#ctx.metrics;
    return {
      size: s.size,
      idle: s.idle,
      inUse: s.leased,
      waiting: s.waiting,
      pending: s.pending,
      min: s.min,
      max: s.max,
      embedded: this.embedded,
      queries: m?.queryDuration.count ?? 0,
      queryTimeouts: m?.queryTimeouts.value ?? 0,
      acquireTimeouts: m?.acquireTimeouts.value ?? 0,
      retries: m?.retries.value ?? 0,
      acquireWaitMs: { p50: m?.acquireWait.percentile(50) ?? 0, p99: m?.acquireWait.percentile(99) ?? 0 },
      queryMs: { p50: m?.queryDuration.percentile(50) ?? 0, p99: m?.queryDuration.percentile(99) ?? 0 },
    };
  }

  /**
   * Stops lending (new calls get `ClosedError`), serves the callers already waiting, waits for
   * every connection to come back, then closes them all. Idempotent.
   */
  async close(): Promise<void> {
    await this.#resources.close();
    await this.#embedded?.close();
    this.#stopGauges();
  }

  /** Closes now: waiters are rejected and connections in use are closed as they come back. */
  async destroy(reason?: unknown): Promise<void> {
    await this.#resources.destroy(reason);
    await this.#embedded?.close();
    this.#stopGauges();
  }

  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

// A connection lent by the pool: statements with deadlines that stop the work on the server,
// row helpers, a cursor, and transactions with savepoints and retries.
//
// The cancel model. A `timeout` or an aborted `signal` sends a CancelRequest for this session and
// then waits for the statement to end (it ends at once with 57014 when the cancel lands). Only
// then does the call reject, so when it returns the server has stopped. If the statement instead
// finished just before the cancel arrived, the cancel could still hit the next statement, so the
// session is marked suspect and the next use first runs a probe that absorbs it. If the server
// does not end the statement within `cancelGrace`, the socket is destroyed and the session with it.
import { ClosedError, InvalidArgumentError } from '../core/errors.ts';
import type { Clock, Timer } from '../core/clock.ts';
import type { Lease } from '../core/resource-pool.ts';
import { type Backoff, exponentialBackoff } from '../core/backoff.ts';
import { retry } from '../core/retry.ts';
import { onAbort } from '../core/signals.ts';
import { checkNonNegative, checkSignal } from '../core/validate.ts';
import { type DeadlineEntry, DeadlineList } from './deadlines.ts';
import { PgCancelledError, PgNoRowsError, PgQueryError, PgQueryTimeoutError, PgSerializationError, PgTooManyRowsError } from './errors.ts';
import type { PoolMetrics } from './metrics.ts';
import type { QueryResult, Row, Session } from './session.ts';

/** How one statement is stopped: a deadline, or a signal. */
export interface QueryOptions {
  /** Cancels the statement on the server and rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Cancels the statement on the server after this many ms (`PgQueryTimeoutError`). @default the pool's `commandTimeout` */
  timeout?: number | undefined;
}

/** Options of `cursor`: `timeout` and `signal` apply to each round trip. */
export interface CursorOptions extends QueryOptions {
  /** Rows fetched per round trip; the next batch is fetched only when these are consumed. @default 100 */
  batchSize?: number | undefined;
}

/** `'read committed'` is PostgreSQL's default. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/** How a transaction begins, and how it is retried and cancelled. */
export interface TransactionOptions {
  /** @default the server's default (read committed) */
  isolation?: IsolationLevel | undefined;
  /** @default false */
  readOnly?: boolean | undefined;
  /** With `serializable` and `readOnly`: waits for a safe snapshot, then never fails to serialize. @default false */
  deferrable?: boolean | undefined;
  /**
   * Runs the transaction again after a serialization failure (40001) or a deadlock (40P01), at
   * most this many times more: `fn` must be safe to run again. Ignored by nested calls (a
   * savepoint cannot be retried alone). @default 3
   */
  retries?: number | undefined;
  /** The wait before each retry. @default exponentialBackoff({ base: 5, max: 500 }) (full jitter) */
  backoff?: Backoff | undefined;
  /** Aborting cancels the running statement, rolls back, and rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** What both the pool and a leased connection offer. */
export interface Queryable {
  /** Runs one statement with `$1…` parameters and returns its rows and row count. */
  query<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>>;
  /** The rows of a statement. */
  many<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R[]>;
  /** The one row of a statement; `PgNoRowsError` if none, `PgTooManyRowsError` if more. */
  one<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R>;
  /** The one row of a statement, or `null` if none; `PgTooManyRowsError` if more. */
  maybeOne<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R | null>;
  /** Streams the rows of a query through a server-side cursor, `batchSize` rows per round trip. */
  cursor<R extends Row = Row>(text: string, values?: readonly unknown[], options?: CursorOptions): AsyncGenerator<R, void, undefined>;
  /** Runs `fn` in a transaction: commits when it returns, rolls back when it throws, retries serialization failures. */
  transaction<T>(fn: (tx: Connection) => T | PromiseLike<T>, options?: TransactionOptions): Promise<T>;
}

/** @internal What a connection needs from its pool. */
export interface ConnectionContext {
  readonly commandTimeout: number;
  readonly cancelGrace: number;
  readonly clock: Clock;
  readonly metrics: PoolMetrics | undefined;
  /** The deadlines of statements under `commandTimeout` (none when it is Infinity). */
  readonly deadlines: DeadlineList<StatementDeadline> | undefined;
}

/** @internal A connection's entry on its pool's deadline list. */
export interface StatementDeadline extends DeadlineEntry {
  readonly connection: Connection;
}

/** How a statement was stopped: the error to throw once the cancel is delivered. */
interface Halted {
  readonly error: unknown;
  readonly delivered: Promise<void>;
  readonly grace: Timer | undefined;
}

let expireStatement: (entry: StatementDeadline) => void;

/**
 * @internal One attempt of `conn.transaction(fn, options)` without its retries, for the pool
 * (which retries the acquire too) — options already checked.
 */
export let transactionOnce: <T>(conn: Connection, fn: (tx: Connection) => T | PromiseLike<T>, options: TransactionOptions) => Promise<T>;
const noop = (): void => undefined;

/** @internal The pool's deadline list for `commandTimeout`. */
export function statementDeadlines(clock: Clock, commandTimeout: number): DeadlineList<StatementDeadline> | undefined {
  return commandTimeout === Infinity ? undefined : new DeadlineList<StatementDeadline>(clock, commandTimeout, (entry) => expireStatement(entry));
}

const ISOLATION: Record<IsolationLevel, string> = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

/** @internal */
export const defaultTxBackoff = exponentialBackoff({ base: 5, max: 500 });

/** @internal */
export function checkTransactionOptions(options: TransactionOptions): void {
  const { isolation, retries = 3, signal } = options;
  if (isolation !== undefined && !(isolation in ISOLATION)) {
    throw new InvalidArgumentError(`Expected \`isolation\` to be one of ${Object.keys(ISOLATION).map((k) => `'${k}'`).join(', ')}, got ${String(isolation)}`);
  }
  if (!Number.isInteger(retries) || retries < 0) throw new InvalidArgumentError(`Expected \`retries\` to be an integer ≥ 0, got ${String(retries)}`);
  checkSignal(signal);
}

/** @internal */
export function beginStatement(options: TransactionOptions): string {
  let sql = 'BEGIN';
  if (options.isolation !== undefined) sql += ` ISOLATION LEVEL ${ISOLATION[options.isolation]}`;
  if (options.readOnly) sql += ' READ ONLY';
  if (options.deferrable) sql += ' DEFERRABLE';
  return sql;
}

/** @internal The row of `maybeOne`: `null` if none, `PgTooManyRowsError` if more than one. */
export function maybeOneRow<R>(rows: R[]): R | null {
  if (rows.length > 1) throw new PgTooManyRowsError(`Query returned ${rows.length} rows, expected at most one`);
  return rows[0] ?? null;
}

/** @internal The row of `one`: `PgNoRowsError` if none, `PgTooManyRowsError` if more than one. */
export function oneRow<R>(rows: R[]): R {
  const row = maybeOneRow(rows);
  if (row === null) throw new PgNoRowsError();
  return row;
}

/** @internal */
export const isRetryable = (error: unknown): boolean => error instanceof PgSerializationError;

/**
 * A connection lent by `pool.acquire()`. Give it back with `release()`, or let `await using`
 * (or `using`) do it. A connection left inside a transaction is rolled back before reuse.
 *
 * @example
 * await using conn = await pool.acquire({ timeout: 2000 });
 * const user = await conn.maybeOne('SELECT * FROM users WHERE id = $1', [1]);
 */
export class Connection implements Queryable, AsyncDisposable, Disposable {
  readonly #lease: Lease<Session>;
  readonly #session: Session;
  readonly #ctx: ConnectionContext;
  readonly #giveBack: (lease: Lease<Session>, suspect: boolean) => Promise<void>;
  #released: Promise<void> | undefined;
  #busy = false;
  #turns: (() => void)[] | undefined;
  #suspect = false;
  #depth = 0;
  /** A statement failed inside the open transaction (node-postgres rejects before ReadyForQuery says so). */
  #failed = false;
  #names = 0;
  #scope: AbortSignal | undefined;
  /** How the running statement was stopped (a deadline or an abort), if it was. */
  #halted: Halted | undefined;
  #onAbort: ((reason: unknown) => void) | undefined;
  /** This connection's place on the pool's deadline list (one statement runs at a time). */
  #deadline: StatementDeadline | undefined;

  static {
    expireStatement = (entry) => entry.connection.#timedOut(entry.connection.#ctx.commandTimeout);
    transactionOnce = (conn, fn, options) => (conn.inTransaction ? conn.#savepoint(fn, options) : conn.#transactionOnce(fn, options));
  }

  /** @internal Connections come from `Pool.acquire`. */
  constructor(lease: Lease<Session>, ctx: ConnectionContext, giveBack: (lease: Lease<Session>, suspect: boolean) => Promise<void>) {
    this.#lease = lease;
    this.#session = lease.resource;
    this.#ctx = ctx;
    this.#giveBack = giveBack;
  }

  /** Whether the connection went back to the pool. */
  get released(): boolean {
    return this.#released !== undefined;
  }

  /** Whether a transaction is open on this connection (one begun by `transaction()` or by hand). */
  get inTransaction(): boolean {
    return this.#depth > 0 || this.#session.txStatus !== 'I';
  }

  /**
   * Gives the connection back to the pool. Resolves once it is back (after a rollback of a
   * transaction left open, or a probe after a late cancel). Idempotent.
   */
  release(): Promise<void> {
    this.#released ??= this.#giveBack(this.#lease, this.#suspect);
    return this.#released;
  }

  /** `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** `release()` without waiting for it, for `using`. */
  [Symbol.dispose](): void {
    void this.release();
  }

  /**
   * Runs one statement with `$1…` parameters and returns its rows and row count.
   *
   * @example
   * const { rowCount } = await conn.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [10, 1], { timeout: 500 });
   */
  async query<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<R>> {
    if (this.#released !== undefined) throw new ClosedError('Connection was released to the pool');
    const ctx = this.#ctx;
    const signal = options?.signal;
    const timeout = options?.timeout ?? ctx.commandTimeout;
    const scope = this.#scope;
    if (options !== undefined) {
      checkSignal(signal);
      checkNonNegative('timeout', timeout, true);
    }
    if (signal?.aborted) throw signal.reason;
    if (scope?.aborted) throw scope.reason;
    if (this.#busy) await new Promise<void>((resolve) => (this.#turns ??= []).push(resolve));
    this.#busy = true;
    const metrics = ctx.metrics;
    const start = metrics === undefined ? 0 : performance.now();
    try {
      if (this.#suspect) await this.#probe();
      const session = this.#session;
      if (signal === undefined && scope === undefined) {
        if (timeout === Infinity) return (await session.exec(text, values)) as QueryResult<R>;
        // The common case, the pool's commandTimeout and no signal: on the deadline list, inline.
        const deadlines = ctx.deadlines;
        if (deadlines !== undefined && timeout === deadlines.delay && session.cancellable) {
          const entry = this.#listed(deadlines);
          let result: QueryResult;
          try {
            result = await session.exec(text, values);
          } catch (error) {
            deadlines.remove(entry);
            if (this.#halted === undefined) throw error;
            return await this.#stopped(true, error);
          }
          deadlines.remove(entry);
          if (this.#halted !== undefined) return await this.#stopped(false, undefined);
          return result as QueryResult<R>;
        }
      }
      return (await this.#run(text, values, timeout, signal, scope)) as QueryResult<R>;
    } catch (error) {
      metrics?.errors.inc();
      if (this.#depth > 0) this.#failed = true;
      throw error;
    } finally {
      metrics?.queryDuration.record(performance.now() - start);
      const next = this.#turns?.shift();
      if (next === undefined) this.#busy = false;
      else next();
    }
  }

  /** Runs one statement under its deadline and signals (see the cancel model at the top). */
  async #run(text: string, values: readonly unknown[] | undefined, timeout: number, signal: AbortSignal | undefined, scope: AbortSignal | undefined): Promise<QueryResult> {
    const session = this.#session;
    const ctx = this.#ctx;
    // The pool's own deadline goes on its shared list; any other gets a timer of its own.
    const deadlines = timeout === ctx.deadlines?.delay && session.cancellable ? ctx.deadlines : undefined;
    let entry: StatementDeadline | undefined;
    let timer: Timer | undefined;
    this.#halted = undefined;
    if (deadlines !== undefined) {
      entry = this.#listed(deadlines);
    } else if (timeout !== Infinity) {
      timer = ctx.clock.setTimer(timeout, () => this.#timedOut(timeout));
    }
    let unlinkSignal = noop;
    let unlinkScope = noop;
    if (signal !== undefined || scope !== undefined) {
      const halt = (this.#onAbort ??= (reason: unknown) => this.#halt(reason));
      unlinkSignal = onAbort(signal, halt);
      unlinkScope = onAbort(scope, halt);
    }
    const began = session.cancellable ? 0 : ctx.clock.now();
    let result: QueryResult | undefined;
    let failure: unknown;
    let failed = false;
    try {
      result = await session.exec(text, values);
    } catch (error) {
      failed = true;
      failure = error;
    }
    if (entry !== undefined) deadlines?.remove(entry);
    timer?.clear();
    unlinkSignal();
    unlinkScope();
    if (this.#halted !== undefined) return this.#stopped(failed, failure);
    // An in-process database blocks this thread while it runs, so its deadline is checked at the end.
    if (!session.cancellable && ctx.clock.now() - began >= timeout) {
      ctx.metrics?.queryTimeouts.inc();
      throw new PgQueryTimeoutError(`Query ran past its ${timeout} ms timeout (the embedded database cannot stop a statement)`);
    }
    if (failed) throw failure;
    return result!;
  }

  /** Puts this connection's (reused) entry on the pool's deadline list for a statement starting now. */
  #listed(deadlines: DeadlineList<StatementDeadline>): StatementDeadline {
    const entry = (this.#deadline ??= { due: 0, prev: undefined, next: undefined, listed: false, connection: this });
    this.#halted = undefined;
    deadlines.add(entry);
    return entry;
  }

  /** The end of a statement that was stopped: rejects once the cancel was delivered. */
  async #stopped(failed: boolean, failure: unknown): Promise<never> {
    const halted = this.#halted!;
    this.#halted = undefined;
    // The statement finished before the cancel landed: the cancel may still hit the next one.
    if (!failed || !(failure instanceof PgCancelledError)) this.#suspect = this.#session.cancellable;
    await halted.delivered;
    halted.grace?.clear();
    throw halted.error;
  }

  /** The statement's deadline passed. */
  #timedOut(timeout: number): void {
    if (this.#halted !== undefined) return;
    this.#ctx.metrics?.queryTimeouts.inc();
    this.#halt(new PgQueryTimeoutError(`Query timed out after ${timeout} ms and was cancelled on the server`));
  }

  /** Stops the running statement: a cancel on the server, and the socket's end if it does not stop within `cancelGrace`. */
  #halt(error: unknown): void {
    if (this.#halted !== undefined) return;
    const session = this.#session;
    if (!session.cancellable) {
      this.#halted = { error, delivered: Promise.resolve(), grace: undefined };
      return;
    }
    const delivered = session.cancel();
    const grace = this.#ctx.clock.setTimer(this.#ctx.cancelGrace, () => session.destroy());
    this.#halted = { error, delivered, grace };
  }

  /** Absorbs a cancel that may have arrived after its statement ended. Outside a transaction only. */
  async #probe(): Promise<void> {
    this.#suspect = false;
    if (this.#session.txStatus !== 'I') return;
    for (let i = 0; i < 2; i++) {
      try {
        await this.#session.exec('SELECT 1');
        return;
      } catch (error) {
        if (!(error instanceof PgCancelledError)) throw error;
      }
    }
  }

  /** The rows of a statement. */
  async many<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R[]> {
    return (await this.query<R>(text, values, options)).rows;
  }

  /** The one row of a statement (asyncpg's `fetchrow`); `PgNoRowsError` if none, `PgTooManyRowsError` if more. */
  async one<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R> {
    return oneRow((await this.query<R>(text, values, options)).rows);
  }

  /** The one row of a statement, or `null` if none; `PgTooManyRowsError` if more. */
  async maybeOne<R extends Row = Row>(text: string, values?: readonly unknown[], options?: QueryOptions): Promise<R | null> {
    return maybeOneRow((await this.query<R>(text, values, options)).rows);
  }

  /**
   * Streams the rows of a query through a server-side cursor (DECLARE/FETCH), `batchSize` at a
   * time: the next batch is fetched only when the loop asks, so a slow consumer holds the server
   * back instead of filling memory. Outside a transaction it opens one for the cursor's life.
   * `timeout` and `signal` apply to each round trip. Leaving the loop early closes the cursor.
   *
   * @example
   * for await (const row of conn.cursor('SELECT * FROM events WHERE day = $1', [day], { batchSize: 500 })) handle(row);
   */
  async *cursor<R extends Row = Row>(text: string, values?: readonly unknown[], options: CursorOptions = {}): AsyncGenerator<R, void, undefined> {
    const { batchSize = 100, signal, timeout } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`Expected \`batchSize\` to be an integer ≥ 1, got ${String(batchSize)}`);
    const name = `spate_cursor_${++this.#names}`;
    const own = !this.inTransaction;
    const step = { signal, timeout };
    if (own) await this.query('BEGIN', undefined, step);
    let failed = false;
    try {
      await this.query(`DECLARE ${name} NO SCROLL CURSOR FOR ${text}`, values, step);
      for (;;) {
        const { rows } = await this.query<R>(`FETCH ${batchSize} FROM ${name}`, undefined, step);
        for (const row of rows) yield row;
        if (rows.length < batchSize) break;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      if (own) {
        if (failed) await this.#rollback('ROLLBACK');
        else await this.query('COMMIT');
      } else if (!failed && this.#session.txStatus === 'T') {
        await this.query(`CLOSE ${name}`);
      }
    }
  }

  /**
   * Runs `fn` in a transaction: commits when it returns, rolls back when it throws or `signal`
   * aborts, and runs it again (up to `retries` times, with backoff and jitter) after a
   * serialization failure or deadlock. Inside another transaction it uses a savepoint.
   *
   * @example
   * await conn.transaction(async (tx) => {
   *   await tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [amount, from]);
   *   await tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [amount, to]);
   * }, { isolation: 'serializable' });
   */
  transaction<T>(fn: (tx: Connection) => T | PromiseLike<T>, options: TransactionOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected \`fn\` to be a function, got ${typeof fn}`);
    checkTransactionOptions(options);
    if (this.inTransaction) return this.#savepoint(fn, options);
    const { retries = 3, backoff = defaultTxBackoff, signal } = options;
    if (retries === 0) return this.#transactionOnce(fn, options);
    return retry(() => this.#transactionOnce(fn, options), {
      retries,
      backoff,
      signal,
      retryOn: isRetryable,
      onRetry: () => this.#ctx.metrics?.retries.inc(),
    });
  }

  /** @internal One attempt of a top-level transaction. */
  async #transactionOnce<T>(fn: (tx: Connection) => T | PromiseLike<T>, options: TransactionOptions): Promise<T> {
    const { signal } = options;
    await this.query(beginStatement(options), undefined, signal === undefined ? undefined : { signal });
    const outer = this.#scope;
    this.#depth = 1;
    this.#failed = false;
    this.#scope = signal ?? outer;
    let result: T;
    try {
      result = await fn(this);
      if (signal?.aborted) throw signal.reason;
      if (this.#failed || this.#session.txStatus === 'E') {
        throw new PgQueryError('A statement in the transaction failed (its error was caught), so it was rolled back');
      }
      this.#scope = outer;
      await this.query('COMMIT');
    } catch (error) {
      this.#scope = outer;
      await this.#rollback('ROLLBACK');
      throw error;
    } finally {
      this.#depth = 0;
      this.#scope = outer;
    }
    return result;
  }

  async #savepoint<T>(fn: (tx: Connection) => T | PromiseLike<T>, options: TransactionOptions): Promise<T> {
    const name = `spate_sp_${++this.#names}`;
    const { signal } = options;
    await this.query(`SAVEPOINT ${name}`, undefined, { signal });
    const outer = this.#scope;
    this.#scope = signal ?? outer;
    this.#depth++;
    try {
      const result = await fn(this);
      if (signal?.aborted) throw signal.reason;
      this.#scope = outer;
      await this.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      this.#scope = outer;
      await this.#rollback(`ROLLBACK TO SAVEPOINT ${name}`);
      this.#failed = false;
      throw error;
    } finally {
      this.#depth--;
      this.#scope = outer;
    }
  }

  /** Rolls back without any signal (the caller's may be aborted). A failure leaves the session broken. */
  async #rollback(sql: string): Promise<void> {
    if (this.#session.broken || this.#released !== undefined) return;
    for (let i = 0; i < 2; i++) {
      try {
        await this.query(sql);
        return;
      } catch (error) {
        // A late cancel can land on the rollback itself; once more is enough.
        if (!(error instanceof PgCancelledError)) break;
      }
    }
    this.#session.destroy();
  }
}

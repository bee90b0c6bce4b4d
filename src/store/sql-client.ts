// What the Postgres work queue needs of a database client, and an interim one on the `pg` driver.
//
// The interface is the subset of spate/pg's Pool the queue uses (`query(text, values, { signal })`
// → `{ rows, rowCount }` and `transaction(fn)`), so that pool can be passed in as it is.
import pg from 'pg';
import { InvalidArgumentError } from '../core/errors.ts';

/** The rows of a query, and how many rows it touched (null for commands that do not say). */
export interface SqlResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/** Something that runs a query: a pool, or a connection inside a transaction. */
export interface SqlQueryable {
  /** Runs `text` with `$1`… bound to `values`. */
  query(text: string, values?: unknown[], options?: { signal?: AbortSignal | undefined }): Promise<SqlResult>;
}

/** A pool: queries, and transactions (commit on return, roll back on throw). */
export interface SqlClient extends SqlQueryable {
  /** Runs `fn` in one transaction: commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
}

/** Serialization failures and deadlocks: the transaction can simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * A minimal client on a `pg` Pool (retries a transaction on 40001/40P01 a few times).
 *
 * @example
 * const client = new PgSqlClient('postgres://127.0.0.1/test');
 * await client.query('select 1');
 * await client.close();
 */
export class PgSqlClient implements SqlClient {
  readonly #pool: pg.Pool;

  constructor(url: string, options: { max?: number | undefined } = {}) {
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) throw new InvalidArgumentError(`Expected a postgres:// URL, got ${JSON.stringify(url)}`);
    this.#pool = new pg.Pool({ connectionString: url, max: options.max ?? 4, application_name: 'spate' });
    // An idle connection that breaks (server restart) must not crash the process.
    this.#pool.on('error', () => {});
  }

  /** Runs one query on a pooled connection. The signal is checked before the query is sent; a query under way is not cancelled. */
  async query(text: string, values?: unknown[], options: { signal?: AbortSignal | undefined } = {}): Promise<SqlResult> {
    options.signal?.throwIfAborted();
    const r = await this.#pool.query(text, values);
    return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount };
  }

  /**
   * Runs `fn` in one transaction on one connection; runs it again (up to 8 times in all, after a
   * short random pause) when the transaction fails with a serialization failure or deadlock.
   */
  async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.#pool.connect();
      let broken: Error | undefined;
      try {
        await conn.query('begin');
        const tx: SqlQueryable = {
          query: async (text, values) => {
            const r = await conn.query(text, values);
            return { rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount };
          },
        };
        const result = await fn(tx);
        await conn.query('commit');
        return result;
      } catch (error) {
        try {
          await conn.query('rollback');
        } catch (e) {
          broken = e as Error;
        }
        const code = (error as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < 8) {
          await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
          continue;
        }
        throw error;
      } finally {
        conn.release(broken);
      }
    }
  }

  /** Ends the pool: waits for checked-out connections to be released, then closes them all. A second call rejects. */
  async close(): Promise<void> {
    await this.#pool.end();
  }
}

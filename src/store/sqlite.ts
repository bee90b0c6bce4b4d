// The embedded default for durable job state: one SQLite file per job, through node:sqlite.
//
// WAL mode with synchronous=NORMAL: a committed transaction survives the process being killed
// (SIGKILL, a crash) at any moment, which is what resuming a job needs; only a power loss can
// take back the last transactions, and `durability: 'power'` (synchronous=FULL) closes that too,
// at the cost of an fsync per commit. Schema versions live in `PRAGMA user_version`.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { ClosedError } from '../core/errors.ts';

export type { SQLInputValue };

/** Options of `SqliteDb.open`. */
export interface SqliteOptions {
  /** Migrations in order; migration i brings the schema from version i to i + 1. */
  migrations?: readonly string[] | undefined;
  /** 'process' survives a killed process; 'power' also a power loss (fsync per commit). @default 'process' */
  durability?: 'process' | 'power' | undefined;
  /** How long to wait for another connection's lock, in ms. @default 5000 */
  busyTimeoutMs?: number | undefined;
}

/**
 * A SQLite database with migrations and transactions.
 *
 * @example
 * const db = SqliteDb.open('job.sqlite', { migrations: ['create table t (k text primary key)'] });
 * db.transaction(() => db.run('insert into t values (?)', 'a'));
 * db.close();
 */
export class SqliteDb {
  readonly path: string;
  readonly #db: DatabaseSync;
  #depth = 0;
  #closed = false;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
  }

  /** Opens (creating it and its directory if needed) the database at `path` in WAL mode and applies the migrations it has not seen yet. */
  static open(path: string, options: SqliteOptions = {}): SqliteDb {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    const store = new SqliteDb(path, db);
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.durability === 'power' ? 'FULL' : 'NORMAL'};`);
    db.exec(`PRAGMA busy_timeout = ${Math.floor(options.busyTimeoutMs ?? 5000)}; PRAGMA foreign_keys = ON;`);
    store.#migrate(options.migrations ?? []);
    return store;
  }

  /** The underlying node:sqlite handle, for prepared statements. */
  get db(): DatabaseSync {
    if (this.#closed) throw new ClosedError(`the database ${this.path} is closed`);
    return this.#db;
  }

  /** Runs `fn` in a transaction (a savepoint when nested): all of it is committed, or none. */
  transaction<T>(fn: () => T): T {
    const db = this.db;
    const savepoint = `sp${this.#depth}`;
    db.exec(this.#depth === 0 ? 'BEGIN IMMEDIATE' : `SAVEPOINT ${savepoint}`);
    this.#depth++;
    try {
      const result = fn();
      if (result instanceof Promise) throw new TypeError('transaction() takes a synchronous function: a transaction must not span an await');
      this.#depth--;
      db.exec(this.#depth === 0 ? 'COMMIT' : `RELEASE ${savepoint}`);
      return result;
    } catch (error) {
      this.#depth--;
      db.exec(this.#depth === 0 ? 'ROLLBACK' : `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
      throw error;
    }
  }

  /** Runs a statement that returns no rows. */
  run(sql: string, ...params: SQLInputValue[]): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.db.prepare(sql).run(...params);
  }

  /** The first row of a query, or `undefined`. */
  get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.db.prepare(sql).get(...params) as T | undefined;
  }

  /** Every row of a query. */
  all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.db.prepare(sql).all(...params) as T[];
  }

  /** Closes the file (checkpointing the WAL). Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #migrate(migrations: readonly string[]): void {
    const row = this.#db.prepare('PRAGMA user_version').get() as { user_version: number };
    const version = row.user_version;
    if (version > migrations.length) {
      throw new Error(`${this.path} has schema version ${version}, newer than this spate knows (${migrations.length}); use a newer spate or another state file`);
    }
    for (let v = version; v < migrations.length; v++) {
      this.transaction(() => {
        this.#db.exec(migrations[v]!);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }
}

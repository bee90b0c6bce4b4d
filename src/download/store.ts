// Durable state of a download job: one row per URL, behind a small interface (`DownloadStore`) so
// that a Postgres or Redis backend can replace the embedded SQLite one.
//
// Invariants: a row is `done` only after its file was renamed into place and the directory
// fsynced, so `done` ⇒ the file is complete on disk; names are claimed in a table with a unique
// key (case-insensitive), in input order, so a resumed job gets the same names back; every state
// change is one transaction. Memory stays flat: nothing is held per URL outside SQLite.
import type { StatementSync } from 'node:sqlite';
import { SqliteDb } from '../store/sqlite.ts';
import type { ListError } from './list.ts';
import { nameKey, suffixed } from './names.ts';

/** The state of one URL in a download job. */
export type DownloadState = 'queued' | 'active' | 'done' | 'failed';

/** One URL of a job. */
export interface DownloadRecord {
  id: number;
  url: string;
  /** The line of the list it came from, if any. */
  line: number | null;
  /** The file name in the output directory (sanitised, unique in the job). */
  name: string;
  state: DownloadState;
  /** Bytes written (the file's size when done). */
  bytes: number;
  /** The size the server announced, if it did. */
  total: number | null;
  etag: string | null;
  lastModified: string | null;
  /** The SHA-256 of the file (hex), once done. */
  sha256: string | null;
  /** The SHA-256 the list asked for. */
  expectedSha256: string | null;
  /** HTTP requests made for it, over every run. */
  attempts: number;
  error: string | null;
  /** Milliseconds its last run took. */
  ms: number | null;
  /** The name came from Content-Disposition (and is not to be replaced again). */
  named: boolean;
  /** Done in an earlier run (skipped in this one). */
  skipped: boolean;
}

/** What `add` needs to know of an item. */
export interface NewItem {
  url: string;
  line: number | null;
  /** The sanitised name wanted; a suffix is added on collision. */
  name: string;
  expectedSha256: string | null;
  /** The name was given explicitly (by the list): Content-Disposition does not replace it. */
  named: boolean;
}

/** Counts and bytes of a download job by state. */
export interface Totals {
  total: number;
  done: number;
  failed: number;
  skipped: number;
  pending: number;
  bytes: number;
}

/**
 * Where a download job keeps its state. Calls are synchronous for the embedded store; a network
 * backend would batch behind the same calls.
 */
export interface DownloadStore {
  /** Starts a run: items seen from now on belong to it (`skipped` is relative to it). */
  startRun(): number;
  /** Registers an item (once per URL) and claims its name. `isNew` is false for a URL already seen in this run. */
  add(item: NewItem): { record: DownloadRecord; duplicate: boolean };
  /** Claims a new name for a record (from Content-Disposition), releasing the old one. */
  rename(id: number, name: string): string;
  /** The transfer (re)started: validators and size from the response. */
  begin(id: number, info: { total: number | null; etag: string | null; lastModified: string | null }): void;
  /** The file was placed (`done`) or given up (`failed`). */
  finish(id: number, result: { state: 'done' | 'failed'; bytes: number; sha256: string | null; attempts: number; error: string | null; ms: number }): void;
  /** A `done` record whose file vanished goes back to `queued`. */
  requeue(id: number): void;
  /** A list line that could not be read. */
  addListError(error: ListError): void;
  /** The record of one item, or `undefined`. */
  get(id: number): DownloadRecord | undefined;
  /** The records of this run, in input order (streamed). */
  records(): Iterable<DownloadRecord>;
  /** The lines of the list that were refused. */
  listErrors(): Iterable<ListError>;
  /** Counts and bytes by state. */
  totals(): Totals;
  /** Closes the store. */
  close(): void;
}

const MIGRATIONS = [
  `create table downloads (
     id integer primary key,
     url text not null unique,
     line integer,
     name text not null,
     named integer not null default 0,
     state text not null default 'queued',
     bytes integer not null default 0,
     total integer,
     etag text,
     last_modified text,
     sha256 text,
     expected_sha256 text,
     attempts integer not null default 0,
     error text,
     ms real,
     seen_run integer not null default 0,
     done_run integer not null default 0
   );
   create index downloads_seen on downloads (seen_run, id);
   create table names (key text primary key, id integer not null);
   create table list_errors (run integer not null, line integer not null, text text not null, error text not null);
   create table runs (id integer primary key, started text not null);`,
];

interface Row {
  id: number;
  url: string;
  line: number | null;
  name: string;
  named: number;
  state: DownloadState;
  bytes: number;
  total: number | null;
  etag: string | null;
  last_modified: string | null;
  sha256: string | null;
  expected_sha256: string | null;
  attempts: number;
  error: string | null;
  ms: number | null;
  seen_run: number;
  done_run: number;
}

/**
 * The embedded store: one SQLite file (WAL), or `':memory:'`.
 *
 * @example
 * using store = SqliteDownloadStore.open('out/.spate-download.sqlite');
 */
export class SqliteDownloadStore implements DownloadStore, Disposable {
  readonly #db: SqliteDb;
  #run = 0;
  readonly #byUrl: StatementSync;
  readonly #byId: StatementSync;
  readonly #claim: StatementSync;
  readonly #insert: StatementSync;

  private constructor(db: SqliteDb) {
    this.#db = db;
    const raw = db.db;
    this.#byUrl = raw.prepare('select * from downloads where url = ?');
    this.#byId = raw.prepare('select * from downloads where id = ?');
    this.#claim = raw.prepare('insert or ignore into names (key, id) values (?, ?)');
    this.#insert = raw.prepare('insert into downloads (url, line, name, named, expected_sha256, seen_run) values (?, ?, ?, ?, ?, ?)');
  }

  /** Opens (or creates) the job state at `path`. */
  static open(path: string): SqliteDownloadStore {
    return new SqliteDownloadStore(SqliteDb.open(path, { migrations: MIGRATIONS }));
  }

  startRun(): number {
    this.#db.run('insert into runs (started) values (?)', new Date().toISOString());
    this.#run = Number(this.#db.get<{ id: number }>('select max(id) as id from runs')!.id);
    return this.#run;
  }

  add(item: NewItem): { record: DownloadRecord; duplicate: boolean } {
    return this.#db.transaction(() => {
      const existing = this.#byUrl.get(item.url) as Row | undefined;
      if (existing !== undefined) {
        const duplicate = existing.seen_run === this.#run;
        if (!duplicate) {
          this.#db.run('update downloads set seen_run = ?, line = ?, expected_sha256 = ? where id = ?', this.#run, item.line, item.expectedSha256, existing.id);
          existing.seen_run = this.#run;
          existing.line = item.line;
          existing.expected_sha256 = item.expectedSha256;
        }
        return { record: toRecord(existing, this.#run), duplicate };
      }
      // A placeholder name first: the real one needs the row's id in the names table.
      const { lastInsertRowid } = this.#insert.run(item.url, item.line, '', item.named ? 1 : 0, item.expectedSha256, this.#run);
      const id = Number(lastInsertRowid);
      const name = this.#claimName(id, item.name);
      this.#db.run('update downloads set name = ? where id = ?', name, id);
      return { record: this.get(id)!, duplicate: false };
    });
  }

  rename(id: number, name: string): string {
    return this.#db.transaction(() => {
      this.#db.run('delete from names where id = ?', id);
      const claimed = this.#claimName(id, name);
      this.#db.run('update downloads set name = ?, named = 1 where id = ?', claimed, id);
      return claimed;
    });
  }

  begin(id: number, info: { total: number | null; etag: string | null; lastModified: string | null }): void {
    this.#db.run("update downloads set state = 'active', total = ?, etag = ?, last_modified = ?, error = null where id = ?", info.total, info.etag, info.lastModified, id);
  }

  finish(id: number, r: { state: 'done' | 'failed'; bytes: number; sha256: string | null; attempts: number; error: string | null; ms: number }): void {
    this.#db.run(
      'update downloads set state = ?, bytes = ?, sha256 = ?, attempts = ?, error = ?, ms = ?, done_run = ? where id = ?',
      r.state, r.bytes, r.sha256, r.attempts, r.error, r.ms, this.#run, id,
    );
  }

  requeue(id: number): void {
    this.#db.run("update downloads set state = 'queued', bytes = 0, sha256 = null where id = ?", id);
  }

  addListError(error: ListError): void {
    this.#db.run('insert into list_errors (run, line, text, error) values (?, ?, ?, ?)', this.#run, error.line, error.text, error.error);
  }

  /** The record of one item, or `undefined`. */
  get(id: number): DownloadRecord | undefined {
    const row = this.#byId.get(id) as Row | undefined;
    return row === undefined ? undefined : toRecord(row, this.#run);
  }

  *records(): Iterable<DownloadRecord> {
    const run = this.#run;
    for (const row of this.#db.db.prepare('select * from downloads where seen_run = ? order by id').iterate(run)) {
      yield toRecord(row as unknown as Row, run);
    }
  }

  /** The lines of the list that were refused. */
  *listErrors(): Iterable<ListError> {
    for (const row of this.#db.db.prepare('select line, text, error from list_errors where run = ? order by line').iterate(this.#run)) {
      const r = row as unknown as ListError;
      yield { line: Number(r.line), text: r.text, error: r.error };
    }
  }

  /** Counts and bytes by state. */
  totals(): Totals {
    const t = this.#db.get<{ total: number; done: number; failed: number; skipped: number; bytes: number | null }>(
      `select count(*) as total,
              sum(state = 'done' and done_run = ?1) as done,
              sum(state = 'failed') as failed,
              sum(state = 'done' and done_run < ?1) as skipped,
              sum(case when state = 'done' then bytes else 0 end) as bytes
         from downloads where seen_run = ?1`,
      this.#run,
    )!;
    const total = Number(t.total);
    const done = Number(t.done ?? 0);
    const failed = Number(t.failed ?? 0);
    const skipped = Number(t.skipped ?? 0);
    return { total, done, failed, skipped, pending: total - done - failed - skipped, bytes: Number(t.bytes ?? 0) };
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #claimName(id: number, name: string): string {
    for (let n = 1; ; n++) {
      const candidate = suffixed(name, n);
      if (Number(this.#claim.run(nameKey(candidate), id).changes) === 1) return candidate;
    }
  }
}

function toRecord(row: Row, run: number): DownloadRecord {
  return {
    id: Number(row.id),
    url: row.url,
    line: row.line === null ? null : Number(row.line),
    name: row.name,
    state: row.state,
    bytes: Number(row.bytes),
    total: row.total === null ? null : Number(row.total),
    etag: row.etag,
    lastModified: row.last_modified,
    sha256: row.sha256,
    expectedSha256: row.expected_sha256,
    attempts: Number(row.attempts),
    error: row.error,
    ms: row.ms,
    named: row.named === 1,
    skipped: row.state === 'done' && Number(row.done_run) < run,
  };
}

// Where a pipeline keeps what must outlive it: the checkpoint (the source position below which
// every item is completely done), its dead letters, and the rows of a keyed sink. One small
// async interface, so a Postgres backend can sit beside the SQLite one; every method is scoped by
// the pipeline's name, so one store can hold several pipelines.
import { SqliteDb, type SqliteOptions } from '../store/sqlite.ts';
import type { DeadLetter, StoredDeadLetter } from './dead-letter.ts';

/** Which dead letters `listDeadLetters` returns. */
export interface DeadLetterQuery {
  /** Only this stage's. */
  stage?: string | undefined;
  /** At most this many, oldest first. @default Infinity */
  limit?: number | undefined;
}

/** The durable state of pipelines. */
export interface PipelineStore {
  /** The saved checkpoint, or `undefined` before the first. */
  getCheckpoint(pipeline: string): Promise<number | undefined>;
  /** Saves the checkpoint (every source position below `position` is done). */
  setCheckpoint(pipeline: string, position: number): Promise<void>;
  /** Stores a dead letter; one with the same stage and `key` replaces the older one. Returns its id. */
  addDeadLetter(pipeline: string, letter: DeadLetter): Promise<number>;
  /** The pipeline's dead letters, oldest (lowest id) first; a replaced one counts as new. */
  listDeadLetters(pipeline: string, query?: DeadLetterQuery): Promise<StoredDeadLetter[]>;
  /** Removes these dead letters (all of the pipeline's without `ids`); returns how many went. */
  removeDeadLetters(pipeline: string, ids?: readonly number[]): Promise<number>;
  /** Writes `value` under `key`, replacing an older value: the exactly-once sink. */
  upsert(pipeline: string, key: string, value: unknown): Promise<void>;
  /** The keyed sink's rows, in key order. */
  rows(pipeline: string): AsyncIterable<{ key: string; value: unknown }>;
  /** Forgets the checkpoint, dead letters and rows (`--fresh`). */
  reset(pipeline: string): Promise<void>;
  /** Releases the store's connections or file. */
  close(): Promise<void>;
}

/** A store that lives as long as the process: the default when none is given. */
export class MemoryPipelineStore implements PipelineStore {
  readonly #checkpoints = new Map<string, number>();
  readonly #letters = new Map<string, StoredDeadLetter[]>();
  readonly #rows = new Map<string, Map<string, unknown>>();
  #id = 0;

  async getCheckpoint(pipeline: string): Promise<number | undefined> {
    return this.#checkpoints.get(pipeline);
  }

  async setCheckpoint(pipeline: string, position: number): Promise<void> {
    this.#checkpoints.set(pipeline, position);
  }

  async addDeadLetter(pipeline: string, letter: DeadLetter): Promise<number> {
    const list = this.#letters.get(pipeline) ?? [];
    this.#letters.set(pipeline, list);
    const id = ++this.#id;
    const at = letter.key === undefined ? -1 : list.findIndex((l) => l.stage === letter.stage && l.key === letter.key);
    if (at >= 0) list.splice(at, 1);
    list.push({ ...letter, id });
    return id;
  }

  async listDeadLetters(pipeline: string, query: DeadLetterQuery = {}): Promise<StoredDeadLetter[]> {
    const list = (this.#letters.get(pipeline) ?? []).filter((l) => query.stage === undefined || l.stage === query.stage);
    return list.slice(0, query.limit ?? Infinity);
  }

  async removeDeadLetters(pipeline: string, ids?: readonly number[]): Promise<number> {
    const list = this.#letters.get(pipeline) ?? [];
    const keep = ids === undefined ? [] : list.filter((l) => !ids.includes(l.id));
    this.#letters.set(pipeline, keep);
    return list.length - keep.length;
  }

  async upsert(pipeline: string, key: string, value: unknown): Promise<void> {
    let rows = this.#rows.get(pipeline);
    if (!rows) this.#rows.set(pipeline, (rows = new Map()));
    rows.set(key, value);
  }

  async *rows(pipeline: string): AsyncIterable<{ key: string; value: unknown }> {
    const rows = this.#rows.get(pipeline) ?? new Map<string, unknown>();
    for (const key of [...rows.keys()].sort()) yield { key, value: rows.get(key) };
  }

  async reset(pipeline: string): Promise<void> {
    this.#checkpoints.delete(pipeline);
    this.#letters.delete(pipeline);
    this.#rows.delete(pipeline);
  }

  /** Does nothing: the data stays until the process ends. */
  async close(): Promise<void> {}
}

const migrations = [
  `create table checkpoint (pipeline text primary key, position integer not null, at integer not null);
   create table dead_letter (id integer primary key autoincrement, pipeline text not null, stage text not null,
     key text, item text not null, error text not null, attempts integer not null, at integer not null);
   create unique index dead_letter_key on dead_letter (pipeline, stage, key) where key is not null;
   create table row (pipeline text not null, key text not null, value text not null, primary key (pipeline, key));`,
];

interface LetterRow {
  id: number;
  stage: string;
  key: string | null;
  item: string;
  error: string;
  attempts: number;
  at: number;
}

/**
 * The embedded durable store: one SQLite file (WAL; a committed write survives SIGKILL).
 * Items, values and errors are kept as JSON.
 *
 * @example
 * const store = SqlitePipelineStore.open('state/pipeline.sqlite');
 * await pipeline(lines('in.txt'), { name: 'clean', store }).map(clean).run();
 */
export class SqlitePipelineStore implements PipelineStore {
  readonly db: SqliteDb;

  private constructor(db: SqliteDb) {
    this.db = db;
  }

  /** Opens (or creates) the SQLite file at `path`. */
  static open(path: string, options: Omit<SqliteOptions, 'migrations'> = {}): SqlitePipelineStore {
    return new SqlitePipelineStore(SqliteDb.open(path, { ...options, migrations }));
  }

  async getCheckpoint(pipeline: string): Promise<number | undefined> {
    return this.db.get<{ position: number }>('select position from checkpoint where pipeline = ?', pipeline)?.position;
  }

  async setCheckpoint(pipeline: string, position: number): Promise<void> {
    this.db.run(
      'insert into checkpoint (pipeline, position, at) values (?, ?, ?) on conflict (pipeline) do update set position = excluded.position, at = excluded.at',
      pipeline, position, Date.now(),
    );
  }

  async addDeadLetter(pipeline: string, letter: DeadLetter): Promise<number> {
    return this.db.transaction(() => {
      if (letter.key !== undefined) this.db.run('delete from dead_letter where pipeline = ? and stage = ? and key = ?', pipeline, letter.stage, letter.key);
      const r = this.db.run(
        'insert into dead_letter (pipeline, stage, key, item, error, attempts, at) values (?, ?, ?, ?, ?, ?, ?)',
        pipeline, letter.stage, letter.key ?? null, JSON.stringify(letter.item) ?? 'null', JSON.stringify(letter.error), letter.attempts, letter.at,
      );
      return Number(r.lastInsertRowid);
    });
  }

  async listDeadLetters(pipeline: string, query: DeadLetterQuery = {}): Promise<StoredDeadLetter[]> {
    const limit = query.limit === undefined || query.limit === Infinity ? -1 : query.limit;
    const rows = query.stage === undefined
      ? this.db.all<LetterRow>('select * from dead_letter where pipeline = ? order by id limit ?', pipeline, limit)
      : this.db.all<LetterRow>('select * from dead_letter where pipeline = ? and stage = ? order by id limit ?', pipeline, query.stage, limit);
    return rows.map((r) => {
      const letter = { id: r.id, item: JSON.parse(r.item) as unknown, stage: r.stage, error: JSON.parse(r.error) as StoredDeadLetter['error'], attempts: r.attempts, at: r.at };
      return r.key === null ? letter : { ...letter, key: r.key };
    });
  }

  async removeDeadLetters(pipeline: string, ids?: readonly number[]): Promise<number> {
    if (ids === undefined) return Number(this.db.run('delete from dead_letter where pipeline = ?', pipeline).changes);
    return this.db.transaction(() => {
      let n = 0;
      for (const id of ids) n += Number(this.db.run('delete from dead_letter where pipeline = ? and id = ?', pipeline, id).changes);
      return n;
    });
  }

  async upsert(pipeline: string, key: string, value: unknown): Promise<void> {
    this.db.run(
      'insert into row (pipeline, key, value) values (?, ?, ?) on conflict (pipeline, key) do update set value = excluded.value',
      pipeline, key, JSON.stringify(value) ?? 'null',
    );
  }

  async *rows(pipeline: string): AsyncIterable<{ key: string; value: unknown }> {
    const statement = this.db.db.prepare('select key, value from row where pipeline = ? order by key');
    for (const row of statement.iterate(pipeline) as Iterable<{ key: string; value: string }>) {
      yield { key: row.key, value: JSON.parse(row.value) as unknown };
    }
  }

  async reset(pipeline: string): Promise<void> {
    this.db.transaction(() => {
      for (const table of ['checkpoint', 'dead_letter', 'row']) this.db.run(`delete from ${table} where pipeline = ?`, pipeline);
    });
  }

  /** Closes the file (a second call does nothing). */
  async close(): Promise<void> {
    this.db.close();
  }
}

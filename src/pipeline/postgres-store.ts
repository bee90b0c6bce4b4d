// The pipeline's durable state in PostgreSQL, so that processes on several machines share one
// checkpoint, one dead-letter list and one keyed sink. Same semantics as SqlitePipelineStore: a
// dead letter with the same (stage, key) replaces the older one under a new id, lists come oldest
// first, `reset` forgets the pipeline's checkpoint, dead letters and rows.
import { InvalidArgumentError } from '../core/errors.ts';
import type { SqlClient } from '../store/sql-client.ts';
import type { DeadLetter, StoredDeadLetter } from './dead-letter.ts';
import type { DeadLetterQuery, PipelineStore } from './store.ts';

/** How to reach the database: a URL (the store opens and closes its own pool) or a client. */
export interface PostgresPipelineStoreOptions {
  /** A postgres:// URL; the store owns the pool it opens and ends it on `close()`. */
  url?: string | undefined;
  /** Or a client to share (spate/pg's Pool, PgSqlClient); `close()` leaves it open. */
  client?: SqlClient | undefined;
  /** The store's schema (created when missing): `[a-z_][a-z0-9_]{0,62}`. @default 'spate_pipeline' */
  schema?: string | undefined;
  /** How many keyed rows `rows()` reads per query. @default 500 */
  batchSize?: number | undefined;
}

/** unique_violation, duplicate_schema, duplicate_table, duplicate_object. */
const DUPLICATE = new Set(['23505', '42P06', '42P07', '42710']);

/** JSON text for a json parameter (`undefined` is stored as null, as the SQLite store does). */
function json(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** json comes back as text and is parsed here, whatever the client does with json. */
const LETTER = 'id, stage, key, item::text as item, error::text as error, attempts, at';

function parse(text: unknown): unknown {
  return JSON.parse(text as string) as unknown;
}

/**
 * The shared durable store. Each call is one statement or one transaction: a replaced dead letter
 * and `reset` are atomic; a run's checkpoint, dead letters and rows are separate writes (the
 * pipeline orders them so a crash leaves at least once, as with SQLite). Items, errors and values
 * are stored as \`json\`, the text as written: key order and strings holding U+0000 survive (jsonb would
reorder keys and refuse U+0000, losing an item that has one).
 *
 * @example
 * const store = await PostgresPipelineStore.open({ url: 'postgres://127.0.0.1/test', schema: 'etl' });
 * await pipeline(lines('in.txt'), { name: 'clean', store }).map(clean).run();
 */
export class PostgresPipelineStore implements PipelineStore {
  readonly client: SqlClient;
  readonly schema: string;
  readonly #t: string;
  readonly #batchSize: number;
  readonly #close: (() => Promise<void>) | undefined;
  #closed = false;

  private constructor(client: SqlClient, schema: string, batchSize: number, close: (() => Promise<void>) | undefined) {
    this.client = client;
    this.schema = schema;
    this.#t = `"${schema}"`;
    this.#batchSize = batchSize;
    this.#close = close;
  }

  /** Connects and creates the schema and tables when missing (safe when processes start at once). */
  static async open(options: PostgresPipelineStoreOptions): Promise<PostgresPipelineStore> {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('Expected options `{ url }` or `{ client }`');
    const schema = options.schema ?? 'spate_pipeline';
    if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new InvalidArgumentError(`Expected \`schema\` to match [a-z_][a-z0-9_]{0,62}, got ${JSON.stringify(schema)}`);
    }
    const batchSize = options.batchSize ?? 500;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError(`Expected \`batchSize\` to be an integer ≥ 1, got ${String(batchSize)}`);
    if ((options.url === undefined) === (options.client === undefined)) throw new InvalidArgumentError('Expected exactly one of `url` and `client`');
    let client: SqlClient;
    let close: (() => Promise<void>) | undefined;
    if (options.url !== undefined) {
      // pg is loaded only when a URL asks for it, so spate/pipeline does not pull it in.
      const { PgSqlClient } = await import('../store/sql-client.ts');
      const pool = new PgSqlClient(options.url);
      client = pool;
      close = () => pool.close();
    } else {
      client = options.client!;
    }
    const store = new PostgresPipelineStore(client, schema, batchSize, close);
    try {
      const exists = await client.query('select to_regclass($1) as t', [`${store.#t}.dead_letter`]);
      if (exists.rows[0]?.t == null) await store.#migrate();
    } catch (error) {
      await close?.().catch(() => {});
      throw error;
    }
    return store;
  }

  async #migrate(): Promise<void> {
    // As PostgresWorkQueue: the advisory lock serialises processes starting at once, and one that
    // still trips over another's fresh schema (catalog read before the lock) runs again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#createTables();
        return;
      } catch (error) {
        if (attempt >= 3 || !DUPLICATE.has((error as { code?: string }).code ?? '')) throw error;
      }
    }
  }

  async #createTables(): Promise<void> {
    const t = this.#t;
    await this.client.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`spate-pipeline:${this.schema}`]);
      await tx.query(`create schema if not exists ${t}`);
      await tx.query(`create table if not exists ${t}.checkpoint (pipeline text primary key, position bigint not null, at bigint not null)`);
      await tx.query(`create table if not exists ${t}.dead_letter (id bigserial primary key, pipeline text not null, stage text not null,
        key text, item json not null, error json not null, attempts integer not null, at bigint not null)`);
      await tx.query(`create unique index if not exists dead_letter_key on ${t}.dead_letter (pipeline, stage, key) where key is not null`);
      // "C": keys in byte order, as SQLite's (and the index serves the keyset pages).
      await tx.query(`create table if not exists ${t}.row (pipeline text not null, key text collate "C" not null, value json not null, primary key (pipeline, key))`);
    });
  }

  async getCheckpoint(pipeline: string): Promise<number | undefined> {
    const r = await this.client.query(`select position from ${this.#t}.checkpoint where pipeline = $1`, [pipeline]);
    const position = r.rows[0]?.position;
    return position == null ? undefined : Number(position);
  }

  async setCheckpoint(pipeline: string, position: number): Promise<void> {
    await this.client.query(
      `insert into ${this.#t}.checkpoint (pipeline, position, at) values ($1, $2, $3)
       on conflict (pipeline) do update set position = excluded.position, at = excluded.at`,
      [pipeline, position, Date.now()],
    );
  }

  async addDeadLetter(pipeline: string, letter: DeadLetter): Promise<number> {
    const values = [pipeline, letter.stage, letter.key ?? null, json(letter.item), json(letter.error), letter.attempts, letter.at];
    const insert = `insert into ${this.#t}.dead_letter (pipeline, stage, key, item, error, attempts, at) values ($1, $2, $3, $4::json, $5::json, $6, $7)`;
    // One statement, so two processes replacing the same (stage, key) at once cannot both insert;
    // `id = default` gives the replacement a new id, so it lists last, as a fresh one would.
    const r = await this.client.query(
      letter.key === undefined
        ? `${insert} returning id`
        : `${insert} on conflict (pipeline, stage, key) where key is not null do update
           set id = default, item = excluded.item, error = excluded.error, attempts = excluded.attempts, at = excluded.at returning id`,
      values,
    );
    return Number(r.rows[0]!.id);
  }

  async listDeadLetters(pipeline: string, query: DeadLetterQuery = {}): Promise<StoredDeadLetter[]> {
    const limit = query.limit === undefined || query.limit === Infinity ? null : query.limit;
    const r = query.stage === undefined
      ? await this.client.query(`select ${LETTER} from ${this.#t}.dead_letter where pipeline = $1 order by id limit $2`, [pipeline, limit])
      : await this.client.query(`select ${LETTER} from ${this.#t}.dead_letter where pipeline = $1 and stage = $2 order by id limit $3`, [pipeline, query.stage, limit]);
    return r.rows.map((row) => {
      const letter = {
        id: Number(row.id), item: parse(row.item), stage: row.stage as string, error: parse(row.error) as StoredDeadLetter['error'],
        attempts: Number(row.attempts), at: Number(row.at),
      };
      return row.key === null ? letter : { ...letter, key: row.key as string };
    });
  }

  async removeDeadLetters(pipeline: string, ids?: readonly number[]): Promise<number> {
    const r = ids === undefined
      ? await this.client.query(`delete from ${this.#t}.dead_letter where pipeline = $1`, [pipeline])
      : await this.client.query(`delete from ${this.#t}.dead_letter where pipeline = $1 and id = any($2::bigint[])`, [pipeline, [...ids]]);
    return r.rowCount ?? 0;
  }

  async upsert(pipeline: string, key: string, value: unknown): Promise<void> {
    await this.client.query(
      `insert into ${this.#t}.row (pipeline, key, value) values ($1, $2, $3::json) on conflict (pipeline, key) do update set value = excluded.value`,
      [pipeline, key, json(value)],
    );
  }

  async *rows(pipeline: string): AsyncIterable<{ key: string; value: unknown }> {
    // Keyset pages: each query starts after the last key seen, so no cursor or transaction stays
    // open while the caller works, and rows upserted meanwhile past that key are still seen.
    let after: string | null = null;
    for (;;) {
      const r: { rows: Record<string, unknown>[] } = after === null
        ? await this.client.query(`select key, value::text as value from ${this.#t}.row where pipeline = $1 order by key limit $2`, [pipeline, this.#batchSize])
        : await this.client.query(`select key, value::text as value from ${this.#t}.row where pipeline = $1 and key > $2 order by key limit $3`, [pipeline, after, this.#batchSize]);
      for (const row of r.rows) yield { key: row.key as string, value: parse(row.value) };
      if (r.rows.length < this.#batchSize) return;
      after = r.rows[r.rows.length - 1]!.key as string;
    }
  }

  async reset(pipeline: string): Promise<void> {
    await this.client.transaction(async (tx) => {
      for (const table of ['checkpoint', 'dead_letter', 'row']) await tx.query(`delete from ${this.#t}.${table} where pipeline = $1`, [pipeline]);
    });
  }

  /** Ends the pool the store opened from a URL; a client passed in stays open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#close?.();
  }
}

// The crawl's durable state: the frontier, the visited set and the page records, in one place.
//
// Design: one table `pages` holds every URL the crawl has admitted, keyed by its normalised form
// (UNIQUE, which is the visited set). A row moves queued → in-flight → done | failed, or to
// blocked (robots.txt), and back to queued when a stop puts it back. The frontier is the queued
// rows ordered by (depth, id): breadth-first, first-found first. A finished page gets `seq`, its
// place in the output, in the same transaction that stores its record and inserts the links it
// found — so after a SIGKILL at any moment, every page is either recorded once with its links
// queued, or not recorded at all (still in-flight, and put back to queued by `recover()`).
// Callers batch many pages into one `commit()`: one transaction per batch, not per page.
//
// `CrawlStore` is the contract; `SqliteCrawlStore` is the embedded default (node:sqlite, WAL).
// Other backends (Postgres, Redis) implement the same interface.
import { SqliteDb } from '../store/sqlite.ts';

/** The state of a URL in a crawl's store. */
export type PageState = 'queued' | 'in-flight' | 'done' | 'failed' | 'blocked';

/** A URL to add to the frontier. */
export interface Discovery {
  /** Normalised URL. */
  url: string;
  /** Its `host` (`name:port`), for per-host limits. */
  host: string;
  depth: number;
  /** The URL it was found on (undefined for seeds). */
  parent: string | undefined;
  /** Redirects followed to reach it. */
  hops: number;
}

/** A frontier row handed to a worker. */
export interface FrontierItem {
  id: number;
  url: string;
  depth: number;
  parent: string | undefined;
  hops: number;
  attempts: number;
}

/** How a claimed row ended. */
export interface Completion {
  id: number;
  state: 'done' | 'failed' | 'blocked' | 'queued';
  /** The JSON line (done and failed only). */
  record?: string | undefined;
}

/** What `CrawlStore.commit` returns. */
export interface CommitResult {
  /** For each discovery, in order: whether it was new (not already in the visited set). */
  inserted: boolean[];
  /** The records given an output position in this commit, in order. */
  records: { seq: number; record: string }[];
}

/** URLs in a crawl's store by state. */
export interface StoreCounts {
  queued: number;
  inFlight: number;
  done: number;
  failed: number;
  blocked: number;
}

/** The durable state of a crawl. Every method is one atomic step. */
export interface CrawlStore {
  /** Puts rows left in-flight by a previous run back in the queue; returns how many. */
  recover(): number;
  /** Takes up to `limit` queued rows, shallowest first, and marks them in-flight. */
  claim(limit: number): FrontierItem[];
  /** Records completions and inserts discoveries, all or nothing. */
  commit(completions: readonly Completion[], discoveries: readonly Discovery[]): CommitResult;
  /** URLs by state. */
  counts(): StoreCounts;
  /** URLs admitted per host (all states). */
  hostCounts(): Map<string, number>;
  /** Output records with seq > `after`, in order, at most `limit`. */
  records(after: number, limit: number): { seq: number; record: string }[];
  /** A value the crawl recorded about itself (its seeds, options), or `undefined`. */
  getMeta(key: string): string | undefined;
  /** Records values about the crawl. */
  setMeta(entries: Record<string, string>): void;
  /** Closes the store. */
  close(): void;
}

const MIGRATIONS = [
  `create table meta (key text primary key, value text not null);
   create table pages (
     id integer primary key,
     url text not null unique,
     host text not null,
     depth integer not null,
     parent text,
     hops integer not null default 0,
     state text not null default 'queued',
     attempts integer not null default 0,
     seq integer unique,
     record text
   );
   create index pages_frontier on pages (depth, id) where state = 'queued';
   create index pages_in_flight on pages (id) where state = 'in-flight';`,
];

type Stmt = ReturnType<SqliteDb['db']['prepare']>;

/**
 * The crawl state in one SQLite file (`:memory:` for none).
 *
 * @example
 * const store = SqliteCrawlStore.open('.spate/crawl.sqlite');
 * store.recover();
 * const batch = store.claim(64);
 */
export class SqliteCrawlStore implements CrawlStore {
  readonly #db: SqliteDb;
  readonly #insert: Stmt;
  readonly #lower: Stmt;
  readonly #claimSelect: Stmt;
  readonly #markInFlight: Stmt;
  readonly #finish: Stmt;
  readonly #setState: Stmt;
  #seq: number;

  private constructor(db: SqliteDb) {
    this.#db = db;
    const d = db.db;
    this.#insert = d.prepare('insert or ignore into pages (url, host, depth, parent, hops) values (?, ?, ?, ?, ?)');
    this.#lower = d.prepare("update pages set depth = ?, parent = ?, hops = ? where url = ? and state = 'queued' and depth > ?");
    this.#claimSelect = d.prepare("select id, url, depth, parent, hops, attempts from pages where state = 'queued' order by depth, id limit ?");
    this.#markInFlight = d.prepare("update pages set state = 'in-flight', attempts = attempts + 1 where id = ?");
    this.#finish = d.prepare('update pages set state = ?, seq = ?, record = ? where id = ?');
    this.#setState = d.prepare('update pages set state = ? where id = ?');
    this.#seq = Number(db.get<{ s: number | null }>('select max(seq) as s from pages')?.s ?? 0);
  }

  /** Opens (or creates) the crawl state at `path`. */
  static open(path: string): SqliteCrawlStore {
    return new SqliteCrawlStore(SqliteDb.open(path, { migrations: MIGRATIONS }));
  }

  get path(): string {
    return this.#db.path;
  }

  recover(): number {
    return Number(this.#db.run("update pages set state = 'queued' where state = 'in-flight'").changes);
  }

  claim(limit: number): FrontierItem[] {
    if (limit <= 0) return [];
    return this.#db.transaction(() => {
      const rows = this.#claimSelect.all(limit) as unknown as { id: number; url: string; depth: number; parent: string | null; hops: number; attempts: number }[];
      const out: FrontierItem[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        this.#markInFlight.run(r.id);
        out[i] = { id: r.id, url: r.url, depth: r.depth, parent: r.parent ?? undefined, hops: r.hops, attempts: r.attempts + 1 };
      }
      return out;
    });
  }

  commit(completions: readonly Completion[], discoveries: readonly Discovery[]): CommitResult {
    if (completions.length === 0 && discoveries.length === 0) return { inserted: [], records: [] };
    let seq = this.#seq;
    const result = this.#db.transaction((): CommitResult => {
      const inserted: boolean[] = new Array(discoveries.length);
      for (let i = 0; i < discoveries.length; i++) {
        const d = discoveries[i]!;
        const parent = d.parent ?? null;
        const isNew = Number(this.#insert.run(d.url, d.host, d.depth, parent, d.hops).changes) === 1;
        if (!isNew) this.#lower.run(d.depth, parent, d.hops, d.url, d.depth);
        inserted[i] = isNew;
      }
      const records: { seq: number; record: string }[] = [];
      for (const c of completions) {
        if (c.state === 'done' || c.state === 'failed') {
          const record = c.record ?? '{}';
          seq++;
          this.#finish.run(c.state, seq, record, c.id);
          records.push({ seq, record });
        } else {
          this.#setState.run(c.state, c.id);
        }
      }
      return { inserted, records };
    });
    this.#seq = seq;
    return result;
  }

  /** URLs by state. */
  counts(): StoreCounts {
    const out: StoreCounts = { queued: 0, inFlight: 0, done: 0, failed: 0, blocked: 0 };
    for (const row of this.#db.all<{ state: PageState; n: number }>('select state, count(*) as n from pages group by state')) {
      if (row.state === 'in-flight') out.inFlight = row.n;
      else out[row.state] = row.n;
    }
    return out;
  }

  hostCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const row of this.#db.all<{ host: string; n: number }>('select host, count(*) as n from pages group by host')) out.set(row.host, row.n);
    return out;
  }

  records(after: number, limit: number): { seq: number; record: string }[] {
    return this.#db.all<{ seq: number; record: string }>('select seq, record from pages where seq > ? order by seq limit ?', after, limit).map((r) => ({ seq: r.seq, record: r.record }));
  }

  /** A value the crawl recorded about itself, or `undefined`. */
  getMeta(key: string): string | undefined {
    return this.#db.get<{ value: string }>('select value from meta where key = ?', key)?.value;
  }

  /** Records values about the crawl. */
  setMeta(entries: Record<string, string>): void {
    this.#db.transaction(() => {
      for (const [k, v] of Object.entries(entries)) this.#db.run('insert into meta (key, value) values (?, ?) on conflict(key) do update set value = excluded.value', k, v);
    });
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

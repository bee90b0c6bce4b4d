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
// The table is spate/store's work queue: url = key, host = group, depth = priority, and the crawl's
// own columns (parent, hops) in the payload; a page's record is its output, done/failed/blocked
// its outcome. `CrawlStore` is the contract; `SqliteCrawlStore` is the embedded default
// (node:sqlite, WAL, synchronous); `PostgresCrawlStore` (postgres-store.ts) is shared by many
// workers, and its calls return promises (the crawler awaits only those).
import { SqliteWorkQueue } from '../store/sqlite-queue.ts';
import type { Settle, WorkInput, WorkItem } from '../store/work-queue.ts';

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

/** A value, or a promise of one: the embedded store answers synchronously, a shared one with promises. */
export type MaybePromise<T> = T | Promise<T>;

/** Options of `CrawlStore.claim`. */
export interface ClaimRowsOptions {
  /** Ends a shared store's wait for rows other workers hold. */
  signal?: AbortSignal | undefined;
  /**
   * The crawl's page budget (`maxPages`) for every worker together: a shared store claims no row
   * that would take the pages started (in flight, done or failed, by any worker) past it, and
   * returns `[]` once it is spent and no other worker holds rows.
   */
  maxPages?: number | undefined;
}

/** The durable state of a crawl. Every method is one atomic step. */
export interface CrawlStore {
  /** Puts rows left in-flight by a previous run (of this worker) back in the queue; returns how many. */
  recover(): MaybePromise<number>;
  /**
   * Takes up to `limit` queued rows, shallowest first, and marks them in-flight. A shared store
   * may wait (until `signal`) while other workers still hold rows; `[]` means the crawl has run dry.
   */
  claim(limit: number, options?: ClaimRowsOptions): MaybePromise<FrontierItem[]>;
  /** Records completions and inserts discoveries, all or nothing. */
  commit(completions: readonly Completion[], discoveries: readonly Discovery[]): MaybePromise<CommitResult>;
  /** URLs by state. */
  counts(): MaybePromise<StoreCounts>;
  /** URLs admitted per host (all states). */
  hostCounts(): MaybePromise<Map<string, number>>;
  /** Output records with seq > `after`, in order, at most `limit`. */
  records(after: number, limit: number): { seq: number; record: string }[];
  /** A value the crawl recorded about itself (its seeds, options), or `undefined`. */
  getMeta(key: string): string | undefined;
  /** Records values about the crawl. */
  setMeta(entries: Record<string, string>): void;
  /**
   * A shared store's per-host schedule: takes the host's next request slot (`spacingMs` after the
   * previous one, whichever worker took it) and resolves to the ms to wait for it. Absent: the
   * crawler's own per-process limiters apply.
   */
  reserve?(host: string, spacingMs: number): Promise<number>;
  /** A shared store's per-host concurrency slots (see `WorkQueue.acquireSlot`); absent: per process. */
  acquireSlot?(host: string, limit: number): Promise<number | undefined>;
  /** Gives back a slot taken with `acquireSlot`. */
  releaseSlot?(host: string, slot: number): Promise<void>;
  /** Closes the store. */
  close(): void | Promise<void>;
}


/** The crawl's columns in the work queue's payload: `hops parent`. */
export function crawlInput(d: Discovery): WorkInput {
  return { key: d.url, group: d.host, priority: d.depth, payload: d.parent === undefined ? `${d.hops}` : `${d.hops} ${d.parent}` };
}

/** A claimed work item as a frontier row. */
export function frontierItem(it: WorkItem): FrontierItem {
  const payload = it.payload ?? '0';
  const space = payload.indexOf(' ');
  return {
    id: it.id,
    url: it.key,
    depth: it.priority,
    parent: space < 0 ? undefined : payload.slice(space + 1),
    hops: Number(space < 0 ? payload : payload.slice(0, space)),
    attempts: it.attempts,
  };
}

/** A completion as a settle of the item leased under `lease`. */
export function crawlSettle(c: Completion, lease: number): Settle {
  if (c.state === 'queued') return { id: c.id, lease, kind: 'release' };
  if (c.state === 'blocked') return { id: c.id, lease, kind: 'complete', outcome: 'blocked' };
  return { id: c.id, lease, kind: 'complete', outcome: c.state, output: c.record ?? '{}' };
}

/** The queue's counts as the crawl's. */
export function crawlCounts(c: { queued: number; claimed: number; outcomes: Record<string, number> }): StoreCounts {
  return { queued: c.queued, inFlight: c.claimed, done: c.outcomes.done ?? 0, failed: c.outcomes.failed ?? 0, blocked: c.outcomes.blocked ?? 0 };
}

/** One process owns an embedded crawl: its claims never expire (a restart's `recover()` returns them). */
const FOREVER_MS = 100 * 365 * 24 * 3600 * 1000;

/**
 * The crawl state in one SQLite file (`:memory:` for none).
 *
 * @example
 * const store = SqliteCrawlStore.open('.spate/crawl.sqlite');
 * store.recover();
 * const batch = store.claim(64);
 */
export class SqliteCrawlStore implements CrawlStore {
  readonly #queue: SqliteWorkQueue;
  /** Rows this store handed out: id → lease (the fencing token its settle quotes). */
  readonly #leases = new Map<number, number>();

  private constructor(queue: SqliteWorkQueue) {
    this.#queue = queue;
  }

  /** Opens (or creates) the crawl state at `path`. */
  static open(path: string): SqliteCrawlStore {
    try {
      return new SqliteCrawlStore(SqliteWorkQueue.open(path, { leaseMs: FOREVER_MS }));
    } catch (error) {
      // State files of spate 0.1's first crawler had a `pages` table at schema version 1.
      if (/no such table: work/.test((error as Error).message)) throw new Error(`${path} holds crawl state from an older spate; start over with --fresh (or another --state file)`);
      throw error;
    }
  }

  get path(): string {
    return this.#queue.path;
  }

  recover(): number {
    return this.#queue.releaseOwnedSync({ all: true });
  }

  claim(limit: number): FrontierItem[] {
    const items = this.#queue.claimSync(limit);
    const out: FrontierItem[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      this.#leases.set(it.id, it.lease);
      out[i] = frontierItem(it);
    }
    return out;
  }

  commit(completions: readonly Completion[], discoveries: readonly Discovery[]): CommitResult {
    if (completions.length === 0 && discoveries.length === 0) return { inserted: [], records: [] };
    const settle: Settle[] = new Array(completions.length);
    for (let i = 0; i < completions.length; i++) {
      const c = completions[i]!;
      settle[i] = crawlSettle(c, this.#leases.get(c.id) ?? -1);
    }
    const add: WorkInput[] = new Array(discoveries.length);
    for (let i = 0; i < discoveries.length; i++) add[i] = crawlInput(discoveries[i]!);
    const r = this.#queue.commitSync({ add, settle });
    for (const c of completions) this.#leases.delete(c.id);
    return { inserted: r.inserted, records: r.outputs.map((o) => ({ seq: o.ownerSeq, record: o.output })) };
  }

  counts(): StoreCounts {
    return crawlCounts(this.#queue.countsSync());
  }

  hostCounts(): Map<string, number> {
    return this.#queue.groupCountsSync();
  }

  records(after: number, limit: number): { seq: number; record: string }[] {
    return this.#queue.outputsSync(after, limit, { owner: this.#queue.owner }).map((o) => ({ seq: o.ownerSeq, record: o.output }));
  }

  /** A value the crawl recorded about itself, or `undefined`. */
  getMeta(key: string): string | undefined {
    return this.#queue.getCheckpointSync(key);
  }

  /** Records values about the crawl. */
  setMeta(entries: Record<string, string>): void {
    this.#queue.setCheckpointsSync(entries);
  }

  /** Closes the database. */
  close(): void {
    this.#queue.closeSync();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

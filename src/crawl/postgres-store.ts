// A crawl's state in PostgreSQL, shared by every worker (process or machine) of the crawl.
//
// The frontier is spate/store's Postgres work queue in the crawl's own schema. What this adds:
//   - `claim` waits while the frontier is empty but other workers still hold pages (their links
//     may refill it; a dead worker's pages come back when its lease runs out), and returns [] only
//     when nobody holds anything: the crawl has run dry for everyone.
//   - Each worker's records are numbered on their own (`ownerSeq`), so its `-o` file is written
//     exactly once across its own restarts by the same JsonlOutput as the embedded crawl; its
//     marks are checkpoints named after the worker. `exportCrawl` writes the union of all workers.
//   - `reserve`, `acquireSlot`: per-host request times and concurrency slots shared by all workers
//     (see docs/crawl.md).
// JsonlOutput reads marks and records synchronously: they are loaded at `open` and mark updates
// ride along with the next commit (a mark that lags only makes a restart rewrite more lines).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { sleep } from '../core/sleep.ts';
import { PostgresWorkQueue } from '../store/postgres-queue.ts';
import { PgSqlClient, type SqlClient } from '../store/sql-client.ts';
import type { Settle, WorkInput, WorkQueue } from '../store/work-queue.ts';
import { type ClaimRowsOptions, type CommitResult, type Completion, type CrawlStore, crawlCounts, crawlInput, crawlSettle, type Discovery, type FrontierItem, frontierItem, type StoreCounts } from './store.ts';

/** Where the shared crawl lives (`url` or `client`, and `schema`) and who this worker is. */
export interface PostgresCrawlStoreOptions {
  /** A `postgres://` URL (a client of its own, closed with the store), or … */
  url?: string | undefined;
  /** … a client to use (spate/pg's Pool fits; not closed by the store). */
  client?: SqlClient | undefined;
  /** The crawl's schema (created when missing). */
  schema: string;
  /** This worker's name, unique among the crawl's live workers. */
  worker: string;
  /** How long a claimed page stays this worker's without a renewal, in ms. @default 30000 */
  leaseMs?: number | undefined;
  /** How often an idle worker looks for work while others hold pages, in ms. @default 100 */
  pollMs?: number | undefined;
}

const MARK_KEYS = ['out.file.path', 'out.file.seq', 'out.file.offset', 'out.stdout.seq'];

/**
 * The shared crawl store.
 *
 * @example
 * const store = await PostgresCrawlStore.open({ url: 'postgres://127.0.0.1/test', schema: 'spate_crawl_demo', worker: 'w1' });
 * await new Crawler({ seeds, store, output: 'w1.jsonl' }).run();
 * await store.close();
 */
export class PostgresCrawlStore implements CrawlStore {
  readonly queue: PostgresWorkQueue;
  readonly #client: SqlClient;
  readonly #ownsClient: boolean;
  readonly #worker: string;
  readonly #pollMs: number;
  readonly #leases = new Map<number, number>();
  readonly #meta = new Map<string, string>();
  #pendingMeta: Record<string, string> = {};
  #records: { seq: number; record: string }[] = [];

  private constructor(queue: PostgresWorkQueue, client: SqlClient, ownsClient: boolean, options: PostgresCrawlStoreOptions) {
    this.queue = queue;
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#worker = options.worker;
    this.#pollMs = options.pollMs ?? 100;
  }

  /**
   * Joins the crawl in `schema` (creating its tables when missing) as `worker`, and loads this
   * worker's output marks and records so its output file can resume.
   */
  static async open(options: PostgresCrawlStoreOptions): Promise<PostgresCrawlStore> {
    const ownsClient = options.client === undefined;
    const client = options.client ?? new PgSqlClient(options.url ?? '');
    try {
      const queue = await PostgresWorkQueue.open(client, { schema: options.schema, owner: options.worker, leaseMs: options.leaseMs });
      const store = new PostgresCrawlStore(queue, client, ownsClient, options);
      for (const key of MARK_KEYS) {
        const value = await queue.getCheckpoint(store.#metaKey(key));
        if (value !== undefined) store.#meta.set(key, value);
      }
      for (let after = 0; ;) {
        const rows = await queue.outputs(after, 5000, { owner: options.worker });
        if (rows.length === 0) break;
        for (const r of rows) store.#records.push({ seq: r.ownerSeq, record: r.output });
        after = rows.at(-1)!.ownerSeq;
      }
      return store;
    } catch (error) {
      if (ownsClient) await (client as PgSqlClient).close();
      throw error;
    }
  }

  /** Pages left claimed by this worker's previous life, and expired leases, go back to the queue. */
  async recover(): Promise<number> {
    return (await this.queue.requeueExpired()) + (await this.queue.releaseOwned());
  }

  async claim(limit: number, options: ClaimRowsOptions = {}): Promise<FrontierItem[]> {
    const cap = options.maxPages === undefined ? undefined : { max: options.maxPages, except: ['blocked'] };
    for (;;) {
      const items = await this.queue.claim(limit, { cap });
      if (items.length > 0) {
        const out: FrontierItem[] = new Array(items.length);
        for (let i = 0; i < items.length; i++) {
          this.#leases.set(items[i]!.id, items[i]!.lease);
          out[i] = frontierItem(items[i]!);
        }
        return out;
      }
      const c = await this.queue.counts();
      // Dry, or the budget is spent: done once no other worker holds rows (one it releases,
      // or one whose lease runs out, comes back to be claimed).
      const spent = cap !== undefined && c.claimed + (c.outcomes.done ?? 0) + (c.outcomes.failed ?? 0) >= cap.max;
      if ((c.queued === 0 || spent) && c.claimed <= this.#leases.size) return [];
      try {
        await sleep(this.#pollMs, { signal: options.signal });
      } catch {
        return [];
      }
    }
  }

  async commit(completions: readonly Completion[], discoveries: readonly Discovery[]): Promise<CommitResult> {
    const settle: Settle[] = completions.map((c) => crawlSettle(c, this.#leases.get(c.id) ?? -1));
    const add: WorkInput[] = discoveries.map(crawlInput);
    const checkpoints = this.#takeMeta();
    const r = await this.queue.commit({ add, settle, checkpoints });
    for (const c of completions) this.#leases.delete(c.id);
    return { inserted: r.inserted, records: r.outputs.map((o) => ({ seq: o.ownerSeq, record: o.output })) };
  }

  async counts(): Promise<StoreCounts> {
    return crawlCounts(await this.queue.counts());
  }

  hostCounts(): Promise<Map<string, number>> {
    return this.queue.groupCounts();
  }

  records(after: number, limit: number): { seq: number; record: string }[] {
    const out: { seq: number; record: string }[] = [];
    for (const r of this.#records) {
      if (r.seq > after) out.push(r);
      if (out.length >= limit) break;
    }
    return out;
  }

  getMeta(key: string): string | undefined {
    return this.#meta.get(key);
  }

  setMeta(entries: Record<string, string>): void {
    for (const [k, v] of Object.entries(entries)) {
      this.#meta.set(k, v);
      this.#pendingMeta[this.#metaKey(k)] = v;
    }
  }

  reserve(host: string, spacingMs: number): Promise<number> {
    return this.queue.reserve(host, spacingMs);
  }

  acquireSlot(host: string, limit: number): Promise<number | undefined> {
    return this.queue.acquireSlot(host, limit);
  }

  releaseSlot(host: string, slot: number): Promise<void> {
    return this.queue.releaseSlot(host, slot);
  }

  /** Saves the output marks, stops renewing leases, closes its own client. */
  async close(): Promise<void> {
    this.#records = [];
    try {
      const checkpoints = this.#takeMeta();
      if (checkpoints !== undefined) await this.queue.commit({ checkpoints });
      await this.queue.close();
    } finally {
      if (this.#ownsClient) await (this.#client as PgSqlClient).close();
    }
  }

  #metaKey(key: string): string {
    return `${this.#worker}:${key}`;
  }

  #takeMeta(): Record<string, string> | undefined {
    const pending = this.#pendingMeta;
    this.#pendingMeta = {};
    return Object.keys(pending).length === 0 ? undefined : pending;
  }
}

/**
 * Writes every record of a crawl (all workers), in commit order, to `path`: a temporary file,
 * fsynced, renamed into place — complete or absent. Returns how many records it wrote.
 */
export async function exportCrawl(queue: WorkQueue, path: string): Promise<number> {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  let n = 0;
  try {
    for (let after = 0; ;) {
      const rows = await queue.outputs(after, 5000);
      if (rows.length === 0) break;
      let text = '';
      for (const r of rows) text += `${r.output}\n`;
      const buf = Buffer.from(text);
      for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
      n += rows.length;
      after = rows.at(-1)!.seq;
    }
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return n;
}

// The crawler: breadth-first over a durable frontier, with global and per-host limits.
//
// Design:
//   - `concurrency` workers pull from a small in-memory buffer that is refilled from the store's
//     frontier (queued rows, shallowest first); a claimed row is in-flight in the store.
//   - A finished page becomes a Completion (its JSON record) plus Discoveries (its new links);
//     they pile up in memory and are committed together — one transaction per `batchSize` pages,
//     per `flushMs`, or whenever the buffer runs dry — and the output file is appended from what
//     was committed. A crash loses at most the uncommitted pages, which are still in-flight in
//     the store and are fetched again on resume: nothing recorded is lost or repeated.
//   - Dedupe: an in-memory map (normalised URL → depth) stops repeats before they reach the
//     store; the store's UNIQUE key is the truth (a resumed run starts with an empty map). A URL
//     found again at a smaller depth while still queued takes the smaller depth.
//   - Redirects are followed by the crawler, not the HTTP client: a 3xx is recorded as a page,
//     and its target is queued at the same depth with one more hop. So a loop ends in the
//     visited set, a chain ends at `maxRedirects` hops, and every URL is fetched once.
//   - Per host: a semaphore (`perHostConcurrency`) and a sliding-window rate limiter — the
//     stricter of `perHostRate` and robots.txt's Crawl-delay (one request per delay). With a
//     shared store (Postgres), both also hold for the whole crawl: slots and request times come
//     from the store (`acquireSlot`, `reserve`), and claims and commits are awaited.
//   - Stop: aborting `signal` aborts in-flight requests and puts their rows (and the buffer's)
//     back to queued, commits, and `run()` resolves with `interrupted: true`.
import { TextDecoder } from 'node:util';
import { type Clock, type Timer, getClock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { RateLimiter } from '../core/rate-limiter.ts';
import { Semaphore } from '../core/semaphore.ts';
import { sleep } from '../core/sleep.ts';
import { LinkedController, onAbort } from '../core/signals.ts';
import { checkFunction, checkInteger, checkSignal } from '../core/validate.ts';
import { BodyTooLargeError } from '../http/errors.ts';
import type { HttpResponse } from '../http/response.ts';
import { Session } from '../http/session.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { isHtml, LinkExtractor } from './extract.ts';
import { normalizeUrl, plainHost, UrlNormalizer } from './normalize.ts';
import { JsonlOutput } from './output.ts';
import { DEFAULT_USER_AGENT, RobotsCache, type RobotsRules } from './robots.ts';
import { type CommitResult, type Completion, type CrawlStore, type Discovery, type FrontierItem, SqliteCrawlStore } from './store.ts';

/** Which links a crawl follows: the seeds' hosts, their registrable domains, or URLs under the seeds. */
export type CrawlScope = 'same-host' | 'same-domain' | 'prefix';

/** One page's record: the JSON line of the output and of the store. */
export interface PageRecord {
  url: string;
  /** The URL of the response (the same as `url`: redirects are separate records). */
  finalUrl: string;
  /** HTTP status; null when no response came. */
  status: number | null;
  depth: number;
  /** The page the URL was found on; null for seeds. */
  parent: string | null;
  title: string | null;
  /** Links found on the page (before dedupe and scope). */
  links: number;
  contentType: string | null;
  /** Body bytes read. */
  bytes: number;
  fetchMs: number;
  /** Why the page failed (no response, or a status ≥ 400); null when it did not. */
  error: string | null;
  /** Where a 3xx pointed (normalised), if it did. */
  redirectTo?: string | undefined;
  /** The page was longer than `maxPageBytes` and only its start was parsed. */
  truncated?: boolean | undefined;
}

/** What `onPage` gets: the record, the body (HTML pages) and the page's normalised links. */
export interface CrawledPage extends PageRecord {
  /** The body bytes read (up to `maxPageBytes`) of a 2xx HTML page; undefined otherwise. */
  body: Buffer | undefined;
  /** The body decoded with the page's charset ('' when none). */
  text(): string;
  /** The page's links, normalised, in scope or not (absolute). */
  hrefs: readonly string[];
}

/** What a `Crawler` page handler receives besides the page. */
export interface PageContext {
  /** Aborts when the crawl stops. */
  signal: AbortSignal;
  /** Queues a URL (resolved against the page) one level deeper, subject to scope and limits. */
  enqueue(url: string): void;
}

/** Counters of a running crawl (`Crawler.stats()`). */
export interface CrawlStats {
  /** Pages recorded (done + failed) in this job, resumed runs included. */
  pages: number;
  done: number;
  failed: number;
  /** URLs not fetched because robots.txt disallows them. */
  blocked: number;
  inFlight: number;
  /** Queued in the store (approximate between commits). */
  queued: number;
  /** Pages per second in this run. */
  rate: number;
  elapsedMs: number;
  /** `maxPages`, if bounded. */
  limit: number | undefined;
}

/** What `Crawler.run` resolves with. */
export interface CrawlSummary extends CrawlStats {
  /** The crawl was stopped by its signal before the frontier ran dry. */
  interrupted: boolean;
}

/** Options of `Crawler`: seeds, limits, scope, politeness, state and output. */
export interface CrawlerOptions {
  /** Start URLs (depth 0). They define the scope. */
  seeds: readonly string[];
  /** Deepest level followed (seeds are 0). @default Infinity */
  maxDepth?: number | undefined;
  /** Pages fetched in total (across resumes). @default Infinity */
  maxPages?: number | undefined;
  /** URLs admitted per host — bounds traps such as endless calendars. @default Infinity */
  maxPagesPerHost?: number | undefined;
  /** @default 'same-host' */
  scope?: CrawlScope | undefined;
  /** If given, a URL must match one of these (seeds are exempt). */
  include?: readonly RegExp[] | undefined;
  /** A URL matching any of these is skipped. */
  exclude?: readonly RegExp[] | undefined;
  /** Pages in flight at once. @default 32 */
  concurrency?: number | undefined;
  /** Pages in flight per host. @default 8 */
  perHostConcurrency?: number | undefined;
  /** Requests started per host per interval (in addition to Crawl-delay). */
  perHostRate?: { limit: number; interval: number } | undefined;
  /** Obey robots.txt (Disallow and Crawl-delay). @default true */
  respectRobots?: boolean | undefined;
  /** Queue the links found on pages; `false` leaves choosing links to `onPage`'s `enqueue`. @default true */
  followLinks?: boolean | undefined;
  /** Follow `rel=nofollow` links and `<meta name=robots content=nofollow>` pages. @default false */
  followNofollow?: boolean | undefined;
  /** @default 'spate-crawler/0.1 (+local)' */
  userAgent?: string | undefined;
  /** Longer URLs are not followed. @default 2048 */
  maxUrlLength?: number | undefined;
  /** Redirect hops followed from one URL. @default 10 */
  maxRedirects?: number | undefined;
  /** Bytes of a page read and parsed; the rest is ignored (`truncated`). @default 5 MiB */
  maxPageBytes?: number | undefined;
  /** Seed from the origins' sitemaps (robots.txt `Sitemap:` lines), at depth 1. @default false */
  sitemap?: boolean | undefined;
  /** A store to use (not closed by the crawler). */
  store?: CrawlStore | undefined;
  /** The SQLite file of the crawl's state when no `store` is given. @default ':memory:' */
  statePath?: string | undefined;
  /** Where the JSONL records go: a path, or '-' for stdout. @default none */
  output?: string | undefined;
  /** The HTTP session (not closed by the crawler). @default a session of its own */
  session?: Session | undefined;
  /** Called for each response (redirects and error statuses too), before its links are queued. */
  onPage?: ((page: CrawledPage, context: PageContext) => void | Promise<void>) | undefined;
  /** Stops the crawl gracefully. */
  signal?: AbortSignal | undefined;
  /** Pages per transaction. @default 128 */
  batchSize?: number | undefined;
  /** Longest time a finished page waits for its transaction, in ms. @default 200 */
  flushMs?: number | undefined;
  /**
   * Publishes the crawl's figures here when the registry is read (no cost per page):
   * `spate_crawl_pages_total{outcome="done"|"failed"}`, `spate_crawl_blocked_total` (robots.txt), `spate_crawl_in_flight`, `spate_crawl_queued`, and the
   * session's `spate_http_*` per host (see Session.publishMetrics).
   */
  registry?: MetricsRegistry | undefined;
  clock?: Clock | undefined;
}

interface HostGate {
  semaphore: { acquire(options: { signal: AbortSignal }): Promise<{ release(): void }> };
  limiters: { acquire(options: { signal: AbortSignal }): Promise<void> }[];
  robotsApplied: boolean;
}

interface Pending {
  completions: Completion[];
  discoveries: Discovery[];
}

/**
 * A breadth-first web crawler with durable, resumable state.
 *
 * @example
 * const crawler = new Crawler({ seeds: ['http://127.0.0.1:8080/site/default/'], maxDepth: 2, statePath: 'crawl.sqlite' });
 * const summary = await crawler.run();
 * console.log(`${summary.done} pages`);
 */
export class Crawler {
  readonly #seeds: string[];
  readonly #maxDepth: number;
  readonly #maxPages: number;
  readonly #maxPerHost: number;
  readonly #scope: CrawlScope;
  readonly #include: readonly RegExp[];
  readonly #exclude: readonly RegExp[];
  readonly #concurrency: number;
  readonly #perHostConcurrency: number;
  readonly #perHostRate: { limit: number; interval: number } | undefined;
  readonly #respectRobots: boolean;
  readonly #followNofollow: boolean;
  readonly #followLinks: boolean;
  readonly #userAgent: string;
  readonly #maxUrlLength: number;
  readonly #maxRedirects: number;
  readonly #maxPageBytes: number;
  readonly #sitemap: boolean;
  readonly #onPage: CrawlerOptions['onPage'];
  readonly #batchSize: number;
  readonly #flushMs: number;
  readonly #clock: Clock;
  readonly #options: CrawlerOptions;

  readonly #seedHosts = new Set<string>();
  readonly #seedDomains: string[] = [];
  readonly #seedPrefixes: string[] = [];
  readonly #seen = new Map<string, number>();
  readonly #normalizer = new UrlNormalizer();
  readonly #hostCounts = new Map<string, number>();
  readonly #gates = new Map<string, HostGate>();
  readonly #ready: FrontierItem[] = [];
  #readyHead = 0;
  #pending: Pending = { completions: [], discoveries: [] };
  #pendingHosts: string[] = [];

  #store: CrawlStore | undefined;
  #ownsStore = false;
  #session: Session | undefined;
  #ownsSession = false;
  #robots: RobotsCache | undefined;
  #output: JsonlOutput | undefined;
  #stop: LinkedController | undefined;
  #flushTimer: Timer | undefined;
  /** A failure of a timer-driven commit, rethrown by run(). */
  #fatal: { error: unknown } | undefined;
  #wake: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  /** A shared store's claim in flight, and its latest commit. */
  #claiming: Promise<void> | undefined;
  #flushing: Promise<void> | undefined;
  /** Pages completed so far (tells a worker that pages finished while its claim was out). */
  #completed = 0;
  /** Give back the shared per-host slots this process keeps idle. */
  readonly #slotSweeps: (() => Promise<unknown>)[] = [];
  readonly #ended: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  #started = 0;
  #inFlight = 0;
  #done = 0;
  #failed = 0;
  #blocked = 0;
  #queued = 0;
  #runPages = 0;
  #startedAt = 0;
  #finished = false;
  #running = false;

  constructor(options: CrawlerOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('Expected an options object with `seeds`');
    const seeds = options.seeds;
    if (!Array.isArray(seeds) || seeds.length === 0) throw new InvalidArgumentError('Expected `seeds` to be a non-empty array of URLs');
    this.#seeds = [];
    for (const seed of seeds) {
      const url = typeof seed === 'string' ? normalizeUrl(seed) : undefined;
      if (url === undefined) throw new InvalidArgumentError(`Expected \`seeds\` to hold http(s) URLs, got ${JSON.stringify(seed)}`);
      this.#seeds.push(url);
      const parsed = new URL(url);
      this.#seedHosts.add(parsed.host);
      this.#seedDomains.push(parsed.hostname.replace(/^www\./, ''));
      this.#seedPrefixes.push(url.slice(0, url.indexOf('?') < 0 ? url.lastIndexOf('/') + 1 : url.lastIndexOf('/', url.indexOf('?')) + 1));
    }
    this.#maxDepth = checkInteger('maxDepth', options.maxDepth ?? Infinity, 0, true);
    this.#maxPages = checkInteger('maxPages', options.maxPages ?? Infinity, 0, true);
    this.#maxPerHost = checkInteger('maxPagesPerHost', options.maxPagesPerHost ?? Infinity, 1, true);
    const scope = options.scope ?? 'same-host';
    if (scope !== 'same-host' && scope !== 'same-domain' && scope !== 'prefix') {
      throw new InvalidArgumentError(`Expected \`scope\` to be 'same-host', 'same-domain' or 'prefix', got ${JSON.stringify(scope)}`);
    }
    this.#scope = scope;
    for (const [name, list] of [['include', options.include], ['exclude', options.exclude]] as const) {
      if (list !== undefined && (!Array.isArray(list) || !list.every((r) => r instanceof RegExp))) {
        throw new InvalidArgumentError(`Expected \`${name}\` to be an array of RegExp`);
      }
    }
    this.#include = options.include ?? [];
    this.#exclude = options.exclude ?? [];
    this.#concurrency = checkInteger('concurrency', options.concurrency ?? 32, 1);
    this.#perHostConcurrency = checkInteger('perHostConcurrency', options.perHostConcurrency ?? 8, 1);
    if (options.perHostRate !== undefined) {
      checkInteger('perHostRate.limit', options.perHostRate.limit, 1);
      checkInteger('perHostRate.interval', options.perHostRate.interval, 0);
    }
    this.#perHostRate = options.perHostRate;
    this.#respectRobots = options.respectRobots ?? true;
    this.#followNofollow = options.followNofollow ?? false;
    this.#followLinks = options.followLinks ?? true;
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#maxUrlLength = checkInteger('maxUrlLength', options.maxUrlLength ?? 2048, 16);
    this.#maxRedirects = checkInteger('maxRedirects', options.maxRedirects ?? 10, 0);
    this.#maxPageBytes = checkInteger('maxPageBytes', options.maxPageBytes ?? 5 * 1024 * 1024, 1);
    this.#sitemap = options.sitemap ?? false;
    if (options.onPage !== undefined) checkFunction('onPage', options.onPage);
    this.#onPage = options.onPage;
    checkSignal(options.signal);
    this.#batchSize = checkInteger('batchSize', options.batchSize ?? 128, 1);
    this.#flushMs = checkInteger('flushMs', options.flushMs ?? 200, 1);
    this.#clock = options.clock ?? getClock();
    this.#options = options;
    options.registry?.collect((r) => {
      const s = this.stats();
      r.counter('spate_crawl_pages_total', { outcome: 'done' }).set(s.done);
      r.counter('spate_crawl_pages_total', { outcome: 'failed' }).set(s.failed);
      r.counter('spate_crawl_blocked_total').set(s.blocked);
      r.gauge('spate_crawl_in_flight').set(s.inFlight);
      r.gauge('spate_crawl_queued').set(s.queued);
    });
  }

  /** A snapshot of the crawl's progress. */
  stats(): CrawlStats {
    const elapsedMs = this.#startedAt === 0 ? 0 : this.#clock.now() - this.#startedAt;
    return {
      pages: this.#done + this.#failed,
      done: this.#done,
      failed: this.#failed,
      blocked: this.#blocked,
      inFlight: this.#inFlight,
      queued: Math.max(0, this.#queued),
      rate: elapsedMs > 0 ? (this.#runPages * 1000) / elapsedMs : 0,
      elapsedMs,
      limit: this.#maxPages === Infinity ? undefined : this.#maxPages,
    };
  }

  /**
   * Progress snapshots every `intervalMs` while the crawl runs, and a last one when it ends.
   *
   * @example
   * const done = crawler.run();
   * for await (const s of crawler.progress(1000)) console.error(`${s.pages} pages, ${s.rate.toFixed(0)}/s`);
   * const summary = await done;
   */
  async *progress(intervalMs = 1000): AsyncGenerator<CrawlStats, void, undefined> {
    checkInteger('intervalMs', intervalMs, 1);
    while (!this.#finished) {
      let timer: Timer | undefined;
      const tick = new Promise<void>((resolve) => {
        timer = this.#clock.setTimer(intervalMs, resolve);
      });
      await Promise.race([tick, this.#ended.promise]);
      timer?.clear();
      if (this.#finished) break;
      yield this.stats();
    }
    yield this.stats();
  }

  /** Crawls until the frontier is empty, `maxPages` is reached, or the signal stops it. */
  async run(): Promise<CrawlSummary> {
    if (this.#running || this.#finished) throw new InvalidArgumentError('run() can be called once per Crawler');
    this.#running = true;
    const options = this.#options;
    this.#stop = new LinkedController(options.signal);
    const unlinkWake = onAbort(this.#stop.signal, () => this.#notify());
    this.#startedAt = this.#clock.now();
    this.#store = options.store;
    if (this.#store === undefined) {
      this.#store = SqliteCrawlStore.open(options.statePath ?? ':memory:');
      this.#ownsStore = true;
    }
    this.#session = options.session;
    if (this.#session === undefined) {
      this.#session = new Session({
        userAgent: this.#userAgent,
        connections: this.#perHostConcurrency,
        maxRedirects: 0,
        maxBodyBytes: Math.max(this.#maxPageBytes, 1024 * 1024),
        retry: { retries: 2 },
        breaker: false,
        clock: this.#clock,
      });
      this.#ownsSession = true;
    }
    if (options.registry !== undefined) this.#session.publishMetrics(options.registry);
    this.#robots = new RobotsCache({ session: this.#session, userAgent: this.#userAgent, clock: this.#clock });
    const store = this.#store;
    let interrupted = false;
    try {
      await store.recover();
      for (const [host, n] of await store.hostCounts()) this.#hostCounts.set(host, n);
      const counts = await store.counts();
      this.#done = counts.done;
      this.#failed = counts.failed;
      this.#blocked = counts.blocked;
      this.#queued = counts.queued;
      this.#started = counts.done + counts.failed;
      if (options.output !== undefined) this.#output = JsonlOutput.open(store, options.output);
      for (const seed of this.#seeds) {
        const url = new URL(seed);
        this.#admit(seed, url.host, 0, undefined, 0, true);
      }
      await this.#flush();
      if (this.#sitemap) await this.#seedSitemaps();
      const workers: Promise<void>[] = [];
      for (let i = 0; i < this.#concurrency; i++) workers.push(this.#worker());
      await Promise.all(workers);
      if (this.#fatal !== undefined) throw this.#fatal.error;
      interrupted = this.#stop.signal.aborted;
      this.#putBack();
      await this.#flush();
      await this.#flushing;
    } finally {
      await Promise.all(this.#slotSweeps.map((sweep) => sweep()));
      this.#flushTimer?.clear();
      this.#flushTimer = undefined;
      this.#finished = true;
      this.#running = false;
      unlinkWake();
      this.#stop.unlink();
      this.#notify();
      this.#ended.resolve();
      this.#output?.close();
      if (this.#ownsSession) await this.#session.close();
      if (this.#ownsStore) await store.close();
    }
    return { ...this.stats(), inFlight: 0, interrupted };
  }

  async #worker(): Promise<void> {
    for (;;) {
      const item = await this.#next();
      if (item === undefined) return;
      await this.#visit(item);
    }
  }

  async #next(): Promise<FrontierItem | undefined> {
    const stop = this.#stop!.signal;
    for (;;) {
      if (stop.aborted || this.#finished) return undefined;
      if (this.#readyHead < this.#ready.length) {
        const item = this.#ready[this.#readyHead]!;
        this.#ready[this.#readyHead++] = undefined as unknown as FrontierItem;
        if (this.#readyHead === this.#ready.length) {
          this.#ready.length = 0;
          this.#readyHead = 0;
        }
        // In flight from here: a worker that finds the frontier empty must see this one.
        this.#inFlight++;
        return item;
      }
      const flushed = this.#flush();
      if (flushed !== undefined) await flushed;
      if (this.#claiming !== undefined) {
        // A shared store's claim is in flight for this process: its rows are for everyone.
        await this.#claiming;
        continue;
      }
      const budget = Math.min(this.#maxPages - this.#started, this.#concurrency * 2);
      const completed = this.#completed;
      // A shared store keeps maxPages for every worker together (this process's count is its own).
      let rows = budget > 0 ? this.#store!.claim(budget, { signal: stop, maxPages: this.#maxPages === Infinity ? undefined : this.#maxPages }) : [];
      if (rows instanceof Promise) {
        const claiming = rows;
        this.#claiming = claiming.then(() => {}, () => {});
        try {
          rows = await claiming;
        } catch (error) {
          if (stop.aborted) return undefined;
          throw error;
        } finally {
          this.#claiming = undefined;
        }
        // Pages finished while the claim was out: their links are not in the store yet.
        if (rows.length === 0 && this.#completed !== completed) continue;
      }
      if (rows.length > 0) {
        this.#started += rows.length;
        this.#queued -= rows.length;
        for (const row of rows) this.#ready.push(row);
        continue;
      }
      if (this.#inFlight === 0) {
        this.#finished = true;
        this.#wake.resolve();
        return undefined;
      }
      await this.#wake.promise;
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = Promise.withResolvers<void>();
    wake.resolve();
  }

  #putBack(): void {
    for (let i = this.#readyHead; i < this.#ready.length; i++) {
      const item = this.#ready[i]!;
      this.#pending.completions.push({ id: item.id, state: 'queued' });
      this.#started--;
      this.#queued++;
    }
    this.#ready.length = 0;
    this.#readyHead = 0;
  }

  /**
   * Commits the pending completions and discoveries, then appends their records to the output.
   * With a shared store the commit is a promise (commits land in order); it is returned.
   */
  #flush(): Promise<void> | undefined {
    this.#flushTimer?.clear();
    this.#flushTimer = undefined;
    const { completions, discoveries } = this.#pending;
    // Nothing new: a shared store's commit may still be landing — wait for that one.
    if (completions.length === 0 && discoveries.length === 0) return this.#flushing;
    const hosts = this.#pendingHosts;
    this.#pending = { completions: [], discoveries: [] };
    this.#pendingHosts = [];
    const result = this.#store!.commit(completions, discoveries);
    if (result instanceof Promise) {
      this.#flushing = result.then((r) => this.#applyCommit(r, hosts));
      return this.#flushing;
    }
    this.#applyCommit(result, hosts);
    return undefined;
  }

  #applyCommit(result: CommitResult, hosts: string[]): void {
    for (let i = 0; i < result.inserted.length; i++) {
      if (result.inserted[i]) this.#queued++;
      else {
        // Counted on admission as new, but the store already had it (a resumed run).
        const host = hosts[i]!;
        if (host !== '') this.#hostCounts.set(host, (this.#hostCounts.get(host) ?? 1) - 1);
      }
    }
    this.#output?.append(result.records);
  }

  #scheduleFlush(): void {
    if (this.#pending.completions.length >= this.#batchSize) {
      this.#flush()?.catch((error: unknown) => this.#fail(error));
      return;
    }
    this.#flushTimer ??= this.#clock.setTimer(this.#flushMs, () => {
      this.#flushTimer = undefined;
      try {
        this.#flush()?.catch((error: unknown) => this.#fail(error));
      } catch (error) {
        // A commit that fails from a timer (disk full, a locked file) has no caller to reach:
        // stop the crawl and let run() reject with it. The batch was rolled back, so a resume
        // puts its pages back in the queue.
        this.#fail(error);
      }
    });
  }

  #fail(error: unknown): void {
    this.#fatal ??= { error };
    this.#stop?.abort(error);
  }

  /** Queues a URL if it is new, in scope and within the limits; `url` is normalised. */
  #admit(url: string, hostOrUndefined: string | undefined, depth: number, parent: string | undefined, hops: number, seed = false): boolean {
    const known = this.#seen.get(url);
    if (known !== undefined && known <= depth) return false;
    const host = hostOrUndefined ?? hostOf(url); // most links are known: their host is not needed
    if (!seed) {
      if (depth > this.#maxDepth || url.length > this.#maxUrlLength) return false;
      if (!this.#inScope(url, host)) return false;
    }
    if (known === undefined) {
      const n = this.#hostCounts.get(host) ?? 0;
      if (n >= this.#maxPerHost) return false;
      this.#hostCounts.set(host, n + 1);
    }
    this.#seen.set(url, depth);
    this.#pending.discoveries.push({ url, host, depth, parent, hops });
    this.#pendingHosts.push(known === undefined ? host : '');
    return true;
  }

  /**
   * True when `href` is an absolute http(s) URL whose host, written as a plain lower-case-able
   * domain without a port or userinfo, is not a seed host: its normalised host would be the same
   * (such a host only changes case), so it would be out of a same-host scope.
   */
  #plainlyOffsite(href: string): boolean {
    const host = plainHost(href);
    return host !== undefined && !this.#seedHosts.has(host);
  }

  #inScope(url: string, host: string): boolean {
    switch (this.#scope) {
      case 'same-host':
        if (!this.#seedHosts.has(host)) return false;
        break;
      case 'same-domain': {
        const colon = host.lastIndexOf(':');
        const name = colon > 0 && !host.endsWith(']') ? host.slice(0, colon) : host;
        if (!this.#seedDomains.some((d) => name === d || name.endsWith(`.${d}`))) return false;
        break;
      }
      case 'prefix':
        if (!this.#seedPrefixes.some((p) => url.startsWith(p))) return false;
        break;
    }
    if (this.#include.length > 0 && !this.#include.some((r) => matches(r, url))) return false;
    if (this.#exclude.some((r) => matches(r, url))) return false;
    return true;
  }

  #gate(origin: string, rules: RobotsRules | undefined): HostGate {
    let gate = this.#gates.get(origin);
    if (gate === undefined) {
      gate = { semaphore: this.#hostSemaphore(origin), limiters: [], robotsApplied: false };
      if (this.#perHostRate) gate.limiters.push(this.#limiter(origin, 'rate', this.#perHostRate.limit, this.#perHostRate.interval));
      this.#gates.set(origin, gate);
    }
    if (!gate.robotsApplied && rules !== undefined) {
      gate.robotsApplied = true;
      if (rules.crawlDelay !== undefined) gate.limiters.push(this.#limiter(origin, 'crawl-delay', 1, rules.crawlDelay * 1000));
    }
    return gate;
  }

  /**
   * Per-host concurrency: this process's semaphore and — when the store is shared — one of the
   * host's slots in the store, so that the limit holds for the whole crawl. A slot given back is
   * kept for a moment and handed to this process's next request to the host (two queries saved
   * per page), but never for more than SLOT_HOLD_MS, so other workers get their turn.
   */
  #hostSemaphore(origin: string): HostGate['semaphore'] {
    const local = new Semaphore(this.#perHostConcurrency);
    const store = this.#store!;
    if (store.acquireSlot === undefined || store.releaseSlot === undefined) return local;
    const limit = this.#perHostConcurrency;
    const clock = this.#clock;
    const idle: { slot: number; since: number }[] = [];
    let sweep: Timer | undefined;
    const giveBack = (held: { slot: number }): Promise<void> => store.releaseSlot!(origin, held.slot).catch(() => {});
    const sweepIdle = (): Promise<unknown> => {
      sweep?.clear();
      sweep = undefined;
      return Promise.all(idle.splice(0).map(giveBack));
    };
    this.#slotSweeps.push(sweepIdle);
    return {
      acquire: async ({ signal }) => {
        const permit = await local.acquire({ signal });
        try {
          let held = idle.pop();
          while (held !== undefined && clock.now() - held.since >= SLOT_HOLD_MS) {
            void giveBack(held);
            held = idle.pop();
          }
          for (let wait = 2; held === undefined; wait = Math.min(wait * 2, 50)) {
            const slot = await store.acquireSlot!(origin, limit);
            if (slot !== undefined) held = { slot, since: clock.now() };
            else await sleep(wait, { signal, clock });
          }
          const mine = held;
          let released = false;
          return {
            release: () => {
              if (released) return;
              released = true;
              if (clock.now() - mine.since < SLOT_HOLD_MS) {
                idle.push(mine);
                sweep ??= clock.setTimer(SLOT_LINGER_MS, () => void sweepIdle());
              } else {
                void giveBack(mine);
              }
              permit.release();
            },
          };
        } catch (error) {
          permit.release();
          throw error;
        }
      },
    };
  }

  /**
   * A per-host limit: this process's sliding window, or — when the store is shared — the host's
   * schedule in the store, one request every interval/limit ms for the whole crawl.
   */
  #limiter(origin: string, kind: string, limit: number, interval: number): HostGate['limiters'][number] {
    const store = this.#store!;
    if (store.reserve === undefined) return new RateLimiter({ limit, interval, clock: this.#clock });
    const spacing = interval / limit;
    const key = `${kind} ${origin}`;
    return {
      acquire: async ({ signal }) => {
        signal.throwIfAborted();
        const wait = await store.reserve!(key, spacing);
        if (wait > 0) await sleep(wait, { signal, clock: this.#clock });
      },
    };
  }

  async #visit(item: FrontierItem): Promise<void> {
    const stop = this.#stop!.signal;
    const record: PageRecord = {
      url: item.url,
      finalUrl: item.url,
      status: null,
      depth: item.depth,
      parent: item.parent ?? null,
      title: null,
      links: 0,
      contentType: null,
      bytes: 0,
      fetchMs: 0,
      error: null,
    };
    let state: Completion['state'] = 'done';
    try {
      const url = new URL(item.url);
      let rules: RobotsRules | undefined;
      if (this.#respectRobots) {
        rules = await this.#robots!.get(url.origin, { signal: stop });
        if (rules.status === 'unreachable') {
          record.error = `robots.txt unreachable (${rules.httpStatus === undefined ? 'network error' : `HTTP ${rules.httpStatus}`}): the host is disallowed for now`;
          state = 'failed';
        } else if (!rules.allowed(item.url)) {
          state = 'blocked';
        }
      }
      if (state === 'done') state = await this.#fetch(item, url, rules, record);
    } catch (error) {
      if (stop.aborted) state = 'queued';
      else {
        record.error = errorText(error);
        state = 'failed';
      }
    } finally {
      this.#inFlight--;
    }
    this.#complete(item, state, record);
  }

  async #fetch(item: FrontierItem, url: URL, rules: RobotsRules | undefined, record: PageRecord): Promise<Completion['state']> {
    const stop = this.#stop!.signal;
    const gate = this.#gate(url.origin, rules);
    const permit = await gate.semaphore.acquire({ signal: stop });
    const links: string[] = [];
    let redirect: string | undefined;
    let page: CrawledPage | undefined;
    try {
      for (const limiter of gate.limiters) await limiter.acquire({ signal: stop });
      const t0 = this.#clock.now();
      const res = await this.#get(url, stop);
      record.status = res.status;
      record.finalUrl = res.url;
      const contentType = res.header('content-type');
      record.contentType = contentType ?? null;
      const isRedirect = res.status >= 300 && res.status < 400;
      const parse = res.status >= 200 && res.status < 300 && isHtml(contentType);
      const body = await readBody(res, isRedirect ? 0 : this.#maxPageBytes);
      record.bytes = body.total;
      if (body.truncated) record.truncated = true;
      if (isRedirect) {
        const location = res.header('location');
        const target = location === undefined ? undefined : normalizeUrl(location, res.url);
        if (target !== undefined) {
          record.redirectTo = target;
          if (item.hops >= this.#maxRedirects) record.error = `more than ${this.#maxRedirects} redirects`;
          else redirect = target;
        }
      } else if (parse) {
        const extractor = new LinkExtractor({ url: res.url, contentType, followNofollow: this.#followNofollow, maxBytes: this.#maxPageBytes });
        extractor.write(body.bytes);
        const x = extractor.end();
        record.title = x.title;
        record.links = x.hrefs.length;
        const hrefs: string[] = [];
        const resolve = this.#normalizer.resolver(x.base);
        // Links to other hosts are most of a blog's: with nothing else to see them, they are
        // dropped before being resolved when their host is plainly out of a same-host scope.
        const skipOffsite = this.#scope === 'same-host' && this.#onPage === undefined;
        for (const href of x.hrefs) {
          if (skipOffsite && this.#plainlyOffsite(href)) continue;
          const target = resolve(href);
          if (target !== undefined) {
            hrefs.push(target);
            if (this.#followLinks) links.push(target);
          }
        }
        if (this.#onPage) page = makePage(record, body.bytes, x.charset, hrefs);
      }
      if (this.#onPage && page === undefined) page = makePage(record, undefined, 'utf-8', []);
      record.fetchMs = Math.round(this.#clock.now() - t0);
      if (res.status >= 400) record.error = `HTTP ${res.status}`;
    } finally {
      permit.release();
    }
    if (page !== undefined && this.#onPage) {
      const extra: string[] = [];
      await this.#onPage(page, {
        signal: stop,
        enqueue: (href) => {
          const target = normalizeUrl(href, record.finalUrl);
          if (target !== undefined) extra.push(target);
        },
      });
      for (const target of extra) links.push(target);
    }
    if (redirect !== undefined) this.#admit(redirect, hostOf(redirect), item.depth, item.url, item.hops + 1);
    for (const target of links) this.#admit(target, undefined, item.depth + 1, item.url, 0);
    return record.error === null ? 'done' : 'failed';
  }

  /**
   * GETs a page buffered (the fast path); a body over `maxPageBytes` is fetched again as a
   * stream, so that its start can still be parsed.
   */
  async #get(url: URL, signal: AbortSignal): Promise<HttpResponse> {
    const session = this.#session!;
    try {
      return await session.get(url, { signal, throwOnStatus: false, maxRedirects: 0, maxBodyBytes: this.#maxPageBytes });
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      const res = await session.get(url, { signal, throwOnStatus: false, maxRedirects: 0, stream: true });
      STREAMED.add(res);
      return res;
    }
  }

  #complete(item: FrontierItem, state: Completion['state'], record: PageRecord): void {
    this.#completed++;
    if (state === 'done' || state === 'failed') {
      this.#pending.completions.push({ id: item.id, state, record: JSON.stringify(record) });
      this.#runPages++;
      if (state === 'done') this.#done++;
      else this.#failed++;
    } else {
      this.#pending.completions.push({ id: item.id, state });
      this.#started--;
      if (state === 'blocked') this.#blocked++;
      else this.#queued++;
    }
    this.#scheduleFlush();
    this.#notify();
  }

  async #seedSitemaps(): Promise<void> {
    const stop = this.#stop!.signal;
    const origins = new Set(this.#seeds.map((s) => new URL(s).origin));
    for (const origin of origins) {
      let sitemaps: readonly string[] = [];
      try {
        sitemaps = (await this.#robots!.get(origin, { signal: stop })).sitemaps;
      } catch {
        // No robots.txt answer: try the conventional place below.
      }
      if (sitemaps.length === 0) sitemaps = [`${origin}/sitemap.xml`];
      for (const sitemap of sitemaps) {
        try {
          const res = await this.#session!.get(sitemap, { signal: stop, throwOnStatus: false, maxRedirects: 5 });
          if (res.status !== 200) continue;
          const xml = await res.text();
          for (const m of xml.matchAll(/<loc>\s*([^<\s]+)\s*<\/loc>/g)) {
            const target = normalizeUrl(decodeXml(m[1]!));
            if (target !== undefined) this.#admit(target, hostOf(target), 1, sitemap, 0);
          }
        } catch {
          // A sitemap that fails is only a missed hint.
        }
      }
    }
    await this.#flush();
  }
}

function matches(r: RegExp, url: string): boolean {
  r.lastIndex = 0;
  return r.test(url);
}

function hostOf(url: string): string {
  const start = url.indexOf('//') + 2;
  let end = url.indexOf('/', start);
  if (end < 0) end = url.length;
  const host = url.slice(start, end);
  const at = host.lastIndexOf('@');
  return at < 0 ? host : host.slice(at + 1);
}

function decodeXml(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'");
}

const STREAMED = new WeakSet<HttpResponse>();

/** How long a shared per-host slot is reused by one process before it goes back to the store. */
const SLOT_HOLD_MS = 1000;
/** How long a slot given back waits for this process's next request before it goes back. */
const SLOT_LINGER_MS = 20;

/** Reads up to `max` bytes of the body; `total` counts what was read, `truncated` if more came. */
async function readBody(res: HttpResponse, max: number): Promise<{ bytes: Buffer; total: number; truncated: boolean }> {
  if (!STREAMED.has(res)) {
    const bytes = await res.bytes();
    return { bytes, total: bytes.length, truncated: false };
  }
  const body = res.body;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > max) {
      chunks.push(b.subarray(0, b.length - (total - max)));
      body.destroy();
      return { bytes: Buffer.concat(chunks), total: max, truncated: true };
    }
    chunks.push(b);
  }
  return { bytes: Buffer.concat(chunks), total, truncated: false };
}

function makePage(record: PageRecord, body: Buffer | undefined, charset: string, hrefs: string[]): CrawledPage {
  let text: string | undefined;
  return {
    ...record,
    body,
    hrefs,
    text() {
      if (text === undefined) {
        try {
          text = body === undefined ? '' : new TextDecoder(charset).decode(body);
        } catch {
          text = body === undefined ? '' : body.toString('utf8');
        }
      }
      return text;
    },
  };
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

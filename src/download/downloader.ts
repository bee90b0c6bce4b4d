// The batch downloader: the seeds' batch_download (a semaphore, a connector limit, DownloadResult
// totals), made durable and resumable.
//
// Per file: claim a name (store) → GET with `Range: bytes=<part size>-` + `If-Range` when a part
// and a validator exist → stream into `<out>/.spate-partial/<id>.part` through a sink that hashes
// what it has written → fsync the file → verify size and checksum → rename into `<out>/<name>` →
// fsync the directory (group commit: one fsync covers every rename made meanwhile) → mark `done`.
// So a file under its final name is always complete, and `done` in the store implies the file.
//
// Invariant of the sink: the hash has consumed exactly the bytes on disk (it is updated after each
// write returns), so a transfer that breaks mid-body resumes from the part's size and keeps its
// hash; only a part left by another process is re-read to rebuild the hash.
//
// Retries: an attempt counts as progress only when it secures bytes beyond the furthest offset
// any attempt reached (re-downloading the same bytes from 0 does not count); attempts in a row
// without progress count against `retries`, and every file has a byte budget (3× its size +
// 1 MiB) that no retry can reset. So a server that ignores Range and cuts every body fails fast.
//
// The integrity rule (docs/download.md): a body is written at the offset its Content-Range states
// only when that is exactly the range asked for, its total is the one known, its Content-Length
// agrees, and it carries the strong ETag the part was started with. A resume needs a strong ETag
// and a known total; anything else starts over from 0. 206 to a request without Range is only
// accepted when it is the whole file. 416 on a resume whose part is already whole completes it.
//
// Working files (state database and its -wal/-shm, the partial folder, part files, final names)
// are never opened through a symbolic link: parts with O_NOFOLLOW, the rest lstat-and-refuse.
// spate's own files in `out` (state, report) are reserved: no download can take their names.
import { createHash, type Hash } from 'node:crypto';
import { constants, ftruncateSync } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { type Backoff, exponentialBackoff } from '../core/backoff.ts';
import { type Clock, getClock } from '../core/clock.ts';
import { TimeoutError } from '../core/errors.ts';
import { retry } from '../core/retry.ts';
import { LinkedController } from '../core/signals.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import { RETRY_STATUSES, isTransient, retryAfterMs } from '../http/classify.ts';
import { HttpStatusError, NetworkError } from '../http/errors.ts';
import { Session } from '../http/session.ts';
import { AdaptiveConcurrency } from './adaptive.ts';
import { ChecksumMismatchError, MalformedResponseError, ResumeMismatchError, SizeMismatchError, TransferBudgetError, UnsafePathError } from './errors.ts';
import { ResizableLimit } from './limit.ts';
import { type ListEntry, type ListError, type ListItem, isListError } from './list.ts';
import { nameFromDisposition, nameFromUrl, nameKey, safeJoin, sanitizeName } from './names.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { type DownloadRecord, type DownloadStore, SqliteDownloadStore } from './store.ts';

/** The outcome of one URL (the seeds' DownloadResult). */
export interface DownloadResult {
  url: string;
  line: number | null;
  name: string;
  status: 'done' | 'failed' | 'skipped';
  bytes: number;
  attempts: number;
  ms: number | null;
  sha256: string | null;
  error: string | null;
}

/** The seeds' totals, plus time and rate. */
export interface DownloadSummary {
  total: number;
  success: number;
  failed: number;
  skipped: number;
  /** Lines of the list that could not be read. */
  listErrors: number;
  /** Bytes of the files in place: done in this run or skipped as done before. */
  totalBytes: number;
  /** Bytes received in this run (less than `totalBytes` when files were resumed). */
  bytesTransferred: number;
  seconds: number;
  /** Megabytes (10^6) per second transferred in this run. */
  mbPerSecond: number;
}

/** A live snapshot, for progress displays. */
export interface DownloadStats {
  /** Bytes written in this run (resumed bytes not included). */
  bytes: number;
  /** The announced sizes of the files started or done in this run, minus what was resumed. */
  expectedBytes: number;
  done: number;
  failed: number;
  skipped: number;
  inFlight: number;
  /** The concurrency limit now (moves with `adaptive`). */
  limit: number;
  /** Failed attempts (each retry counts). */
  errors: number;
  /** The whole list has been read. */
  inputDone: boolean;
  seconds: number;
}

/** Options of `Downloader`: destination, concurrency, retries, checksums and state. */
export interface DownloaderOptions {
  /** The output directory (created if missing). Nothing is written outside it. */
  out: string;
  /** Files in flight at once; with `adaptive`, the most the controller may use. @default 8 */
  concurrency?: number | undefined;
  /** Files in flight per host. @default 4 */
  perHost?: number | undefined;
  /** Attempts in a row without progress before a file fails. @default 5 */
  retries?: number | undefined;
  /** @default exponentialBackoff({ base: 200, max: 10_000 }) */
  backoff?: Backoff | undefined;
  /** A deadline for each file, all its attempts included, in ms. @default none */
  fileTimeoutMs?: number | undefined;
  /** Move the concurrency with measured throughput and errors (see adaptive.ts). @default false */
  adaptive?: boolean | undefined;
  /** An HTTP session to use (not closed by the downloader). @default one of its own, without decoding or retries */
  session?: Session | undefined;
  /** The job's state file; `':memory:'` for none. @default `<out>/.spate-download.sqlite` */
  statePath?: string | undefined;
  /** Continue the job in the state file; `false` starts over (drops the state and any parts). @default true */
  resume?: boolean | undefined;
  /** Aborting stops the transfers in flight; their parts stay for a resume. */
  signal?: AbortSignal | undefined;
  /** Other files of the job that live in `out` (the report, say): no download takes their names. @default [] */
  reserved?: readonly string[] | undefined;
  /** Called as each URL finishes. */
  onProgress?: ((result: DownloadResult, stats: DownloadStats) => void) | undefined;
  /** @default 'spate/0.1 (downloader)' */
  userAgent?: string | undefined;
  /**
   * Publishes the job's figures here when the registry is read (no cost per file):
   * `spate_download_files_total{outcome}`, `spate_download_bytes_total`, `spate_download_in_flight`,
   * `spate_download_concurrency_limit`, `spate_download_errors_total`, and the session's
   * `spate_http_*` per host (see Session.publishMetrics).
   */
  registry?: MetricsRegistry | undefined;
  clock?: Clock | undefined;
}

/** The file name of the default state file in `out`. */
export const STATE_FILE = '.spate-download.sqlite';
/** Parts live here, under `out`, with names no sanitised name can take (they start with a dot). */
export const PARTIAL_DIR = '.spate-partial';
/** A file's attempts may receive this many times its size (plus `BUDGET_SLACK`) in all. */
export const BYTE_BUDGET_FACTOR = 3;
const BUDGET_SLACK = 1024 * 1024;
const PART_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;

/**
 * Downloads a list of URLs into a directory: bounded and per-host concurrency, retries that
 * resume with Range, atomic placement, a durable state for `--resume`.
 *
 * @example
 * const dl = new Downloader({ out: 'files', concurrency: 16 });
 * const summary = await dl.run(parseList('urls.txt'));
 * await dl.writeReport('report.json');
 * dl.close();
 */
export class Downloader {
  readonly #out: string;
  readonly #partDir: string;
  readonly #concurrency: number;
  readonly #perHost: number;
  readonly #retries: number;
  readonly #backoff: Backoff;
  readonly #fileTimeoutMs: number | undefined;
  readonly #adaptive: boolean;
  readonly #session: Session;
  readonly #ownsSession: boolean;
  readonly #statePath: string;
  readonly #resume: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #onProgress: DownloaderOptions['onProgress'];
  readonly #clock: Clock;
  #store: DownloadStore | undefined;
  #limit: ResizableLimit;
  #started = 0;
  #ended: number | undefined;
  #bytes = 0;
  #expected = 0;
  #done = 0;
  #failed = 0;
  #skipped = 0;
  #errors = 0;
  #listErrors = 0;
  #inputDone = false;
  #windowBytes = 0;
  #windowOk = 0;
  #windowErrors = 0;
  #dirSync: Promise<void> | undefined;
  #dirSyncNext: Promise<void> | undefined;
  #ran = false;
  readonly #hosts = new Map<string, ResizableLimit>();
  /** Name keys of spate's own files in `out`, and prefixes of their temporary names. */
  readonly #reserved = new Set<string>();
  readonly #reservedPrefixes: string[] = [];

  constructor(options: DownloaderOptions) {
    if (typeof options?.out !== 'string' || options.out === '') throw new TypeError('Expected `out` to be a directory path');
    checkSignal(options.signal);
    this.#out = options.out;
    this.#partDir = join(options.out, PARTIAL_DIR);
    this.#concurrency = checkInteger('concurrency', options.concurrency ?? 8, 1);
    this.#perHost = checkInteger('perHost', options.perHost ?? 4, 1);
    this.#retries = checkInteger('retries', options.retries ?? 5, 0);
    this.#backoff = options.backoff ?? exponentialBackoff({ base: 200, max: 10_000 });
    this.#fileTimeoutMs = options.fileTimeoutMs === undefined ? undefined : checkNonNegative('fileTimeoutMs', options.fileTimeoutMs);
    this.#adaptive = options.adaptive ?? false;
    this.#clock = options.clock ?? getClock();
    this.#ownsSession = options.session === undefined;
    // Per-host limits are the downloader's own (`#hosts`), held for the whole file, retries
    // included, and applied to a session passed in as well.
    this.#session = options.session ?? new Session({
      connections: this.#perHost,
      retry: false,
      breaker: false,
      decompress: false,
      userAgent: options.userAgent ?? 'spate/0.1 (downloader)',
      clock: this.#clock,
    });
    this.#statePath = options.statePath ?? join(options.out, STATE_FILE);
    this.#resume = options.resume ?? true;
    this.#signal = options.signal;
    this.#onProgress = options.onProgress;
    this.#limit = new ResizableLimit(this.#adaptive ? Math.min(4, this.#concurrency) : this.#concurrency);
    const outAbs = resolve(options.out);
    const own = [...(options.reserved ?? [])];
    if (this.#statePath !== ':memory:') own.push(this.#statePath, `${this.#statePath}-wal`, `${this.#statePath}-shm`, `${this.#statePath}-journal`);
    for (const path of own) {
      if (dirname(resolve(path)) !== outAbs) continue;
      this.#reserved.add(nameKey(basename(path)));
      this.#reservedPrefixes.push(nameKey(`${basename(path)}.tmp-`));
    }
    const registry = options.registry;
    if (registry !== undefined) {
      registry.collect((r) => {
        const s = this.stats();
        r.counter('spate_download_files_total', { outcome: 'done' }).set(s.done);
        r.counter('spate_download_files_total', { outcome: 'failed' }).set(s.failed);
        r.counter('spate_download_files_total', { outcome: 'skipped' }).set(s.skipped);
        r.counter('spate_download_bytes_total').set(s.bytes);
        r.counter('spate_download_errors_total').set(s.errors);
        r.gauge('spate_download_in_flight').set(s.inFlight);
        r.gauge('spate_download_concurrency_limit').set(s.limit);
      });
      this.#session.publishMetrics(registry);
    }
  }

  /** Whether `name` is one of spate's own files in `out`. */
  #isReserved(name: string): boolean {
    const key = nameKey(name);
    return this.#reserved.has(key) || this.#reservedPrefixes.some((p) => key.startsWith(p));
  }

  /** `name`, or `_name` (repeated) when it is reserved. */
  #unreserved(name: string): string {
    while (this.#isReserved(name)) name = `_${name}`;
    return name;
  }

  /** Downloads every item; resolves with the totals. Rejects with `signal.reason` on abort (after the transfers in flight stopped). */
  async run(items: AsyncIterable<ListEntry> | Iterable<ListEntry>): Promise<DownloadSummary> {
    if (this.#ran) throw new Error('run() can be called once per Downloader');
    this.#ran = true;
    const signal = this.#signal;
    if (signal?.aborted) throw signal.reason;
    await mkdir(this.#out, { recursive: true });
    if (!this.#resume) {
      if (this.#statePath !== ':memory:') for (const suffix of ['', '-wal', '-shm']) await rm(this.#statePath + suffix, { force: true });
      await rm(this.#partDir, { recursive: true, force: true });
    }
    // Never follow a link planted among the working files (resume included).
    if (this.#statePath !== ':memory:') for (const suffix of ['', '-wal', '-shm', '-journal']) await refuseLink(this.#statePath + suffix);
    await refuseLink(this.#partDir);
    await mkdir(this.#partDir, { recursive: true });
    if (!(await lstat(this.#partDir)).isDirectory()) throw new UnsafePathError(`${this.#partDir} is not a directory`);
    const store = SqliteDownloadStore.open(this.#statePath);
    this.#store = store;
    store.startRun();
    this.#started = this.#clock.now();
    const adaptive = this.#adaptive
      ? new AdaptiveConcurrency(this.#limit, () => this.#sample(), { max: this.#concurrency, clock: this.#clock })
      : undefined;
    adaptive?.start();
    const inFlight = new Set<Promise<void>>();
    // A failure that is not one file's (the state file, say): stops the input, rethrown at the end.
    let fatal: { error: unknown } | undefined;
    try {
      for await (const item of items) {
        if (signal?.aborted || fatal) break;
        const entry = isListError(item) ? item : checkItem(item);
        if (isListError(entry)) {
          store.addListError(entry);
          this.#listErrors++;
          continue;
        }
        const name = this.#unreserved(sanitizeName(entry.name ?? nameFromUrl(entry.url) ?? ''));
        const { record, duplicate } = store.add({ url: entry.url, line: entry.line ?? null, name, expectedSha256: entry.sha256 ?? null, named: entry.name !== undefined });
        if (duplicate) continue;
        if (record.state === 'done') {
          if (await this.#isPlaced(record)) {
            this.#skipped++;
            this.#emit({ ...result(record), status: 'skipped' });
            continue;
          }
          store.requeue(record.id);
        }
        try {
          await this.#limit.acquire({ signal });
        } catch {
          break;
        }
        const task = this.#one(record)
          .catch((error: unknown) => {
            fatal ??= { error };
          })
          .finally(() => {
            this.#limit.release();
            inFlight.delete(task);
          });
        inFlight.add(task);
      }
      this.#inputDone = true;
    } finally {
      await Promise.all(inFlight);
      adaptive?.stop();
      this.#ended = this.#clock.now();
    }
    if (signal?.aborted) throw signal.reason;
    if (fatal) throw fatal.error;
    return this.summary();
  }

  /** The totals so far (or of the finished run). */
  summary(): DownloadSummary {
    const seconds = ((this.#ended ?? this.#clock.now()) - this.#started) / 1000;
    const t = this.#store?.totals() ?? { total: 0, done: 0, failed: 0, skipped: 0, bytes: 0, pending: 0 };
    return {
      total: t.total,
      success: t.done,
      failed: t.failed,
      skipped: t.skipped,
      listErrors: this.#listErrors,
      totalBytes: t.bytes,
      bytesTransferred: this.#bytes,
      seconds,
      mbPerSecond: seconds > 0 ? this.#bytes / 1e6 / seconds : 0,
    };
  }

  /** A snapshot of the job's counters and rates. */
  stats(): DownloadStats {
    return {
      bytes: this.#bytes,
      expectedBytes: this.#expected,
      done: this.#done,
      failed: this.#failed,
      skipped: this.#skipped,
      inFlight: this.#limit.inFlight,
      limit: this.#limit.limit,
      errors: this.#errors,
      inputDone: this.#inputDone,
      seconds: this.#started === 0 ? 0 : ((this.#ended ?? this.#clock.now()) - this.#started) / 1000,
    };
  }

  /** One result per URL of this run, in input order, streamed from the store. */
  *results(): Iterable<DownloadResult> {
    if (!this.#store) return;
    for (const record of this.#store.records()) yield result(record);
  }

  /** The list lines that could not be read in this run. */
  listErrors(): Iterable<{ line: number; text: string; error: string }> {
    return this.#store?.listErrors() ?? [];
  }

  /** Writes the JSON report (totals, list errors, one record per URL) to `path`, atomically. */
  async writeReport(path: string): Promise<void> {
    // A regular file is replaced whole (temp + rename); /dev/null, a FIFO or a terminal is written
    // in place (renaming over a device would replace it).
    const inPlace = await stat(path).then((s) => !s.isFile(), () => false);
    const tmp = inPlace ? path : `${path}.tmp-${process.pid}`;
    if (!inPlace) await unlink(tmp).catch(() => {});
    // O_EXCL | O_NOFOLLOW: a link planted at the temporary name is not followed.
    const fh = inPlace
      ? await open(path, 'w')
      : await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
    try {
      const write = (text: string) => fh.write(text);
      await write(`{"totals":${JSON.stringify(this.summary())},\n"listErrors":${JSON.stringify([...this.listErrors()])},\n"files":[`);
      let first = true;
      let batch = '';
      for (const r of this.results()) {
        batch += `${first ? '\n' : ',\n'}${JSON.stringify(r)}`;
        first = false;
        if (batch.length > 64 * 1024) {
          await write(batch);
          batch = '';
        }
      }
      await write(`${batch}\n]}\n`);
      if (!inPlace) await fh.datasync();
    } catch (error) {
      await fh.close();
      if (!inPlace) await rm(tmp, { force: true });
      throw error;
    }
    await fh.close();
    if (!inPlace) await rename(tmp, path);
  }

  /** Closes the state file and the session it made. Safe to call twice. */
  async close(): Promise<void> {
    this.#store?.close();
    if (this.#ownsSession) await this.#session.close();
  }

  /** Stops the job and waits for it (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #sample(): { bytes: number; ok: number; errors: number; inFlight: number } {
    const s = { bytes: this.#windowBytes, ok: this.#windowOk, errors: this.#windowErrors, inFlight: this.#limit.inFlight };
    this.#windowBytes = this.#windowOk = this.#windowErrors = 0;
    return s;
  }

  #emit(r: DownloadResult): void {
    this.#onProgress?.(r, this.stats());
  }

  async #isPlaced(record: DownloadRecord): Promise<boolean> {
    try {
      const s = await lstat(safeJoin(this.#out, record.name));
      return s.isFile() && s.size === record.bytes;
    } catch {
      return false;
    }
  }

  async #one(record: DownloadRecord): Promise<void> {
    const origin = new URL(record.url).origin;
    let host = this.#hosts.get(origin);
    if (host === undefined) {
      host = new ResizableLimit(this.#perHost);
      this.#hosts.set(origin, host);
    }
    try {
      await host.acquire({ signal: this.#signal });
    } catch {
      return;
    }
    try {
      await this.#oneHeld(record);
    } finally {
      host.release();
      if (host.inFlight === 0 && host.waiting === 0) this.#hosts.delete(origin);
    }
  }

  async #oneHeld(record: DownloadRecord): Promise<void> {
    const store = this.#store!;
    const t0 = this.#clock.now();
    const state = { attempts: record.attempts, record };
    const controller = new LinkedController(this.#signal);
    const limitMs = this.#fileTimeoutMs;
    const timer = limitMs === undefined ? undefined : this.#clock.setTimer(limitMs, () => controller.abort(new TimeoutError(`file timeout after ${limitMs} ms: ${record.url}`)));
    try {
      const { bytes, sha256 } = await this.#transfer(state, controller.signal);
      const ms = this.#clock.now() - t0;
      store.finish(record.id, { state: 'done', bytes, sha256, attempts: state.attempts, error: null, ms });
      this.#done++;
      this.#windowOk++;
      this.#emit({ ...result(store.get(record.id)!), status: 'done' });
    } catch (error) {
      if (this.#signal?.aborted) return;
      const ms = this.#clock.now() - t0;
      const message = error instanceof Error ? error.message : String(error);
      store.finish(record.id, { state: 'failed', bytes: 0, sha256: null, attempts: state.attempts, error: message, ms });
      this.#failed++;
      this.#emit({ ...result(store.get(record.id)!), status: 'failed' });
    } finally {
      timer?.clear();
      controller.unlink();
    }
  }

  async #transfer(state: { attempts: number; record: DownloadRecord }, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
    const store = this.#store!;
    const record = state.record;
    const part = join(this.#partDir, `${record.id}.part`);
    let hash: Hash | undefined;
    let hashed = -1;
    let stalled = 0;
    let progressed = false;
    let counted = false;
    // The furthest offset any attempt secured on disk, and the bytes received in all attempts.
    let best = 0;
    let received = 0;
    const budget = () => BYTE_BUDGET_FACTOR * Math.max(record.total ?? 0, best) + BUDGET_SLACK;
    const attempt = async (): Promise<{ bytes: number; sha256: string }> => {
      if (received > budget()) throw new TransferBudgetError(record.url, received, budget());
      state.attempts++;
      progressed = false;
      const fh = await openPart(part);
      try {
        const onDisk = (await fh.stat()).size;
        // Resume only what a strong validator and a known total can vouch for.
        const strong = record.etag !== null && !record.etag.startsWith('W/') ? record.etag : null;
        let offset = onDisk > 0 && strong !== null && record.total !== null && onDisk <= record.total ? onDisk : 0;
        // Everything that waits happens before the request: once the response is here, its body
        // is piped at once, so a body that breaks early loses as little as possible.
        if (offset > 0 && (hash === undefined || hashed !== offset)) {
          hash = await hashHandle(fh, offset);
          hashed = offset;
        }
        const headers: Record<string, string> = { 'accept-encoding': 'identity' };
        if (offset > 0) {
          headers.range = `bytes=${offset}-`;
          headers['if-range'] = strong!;
        }
        let res;
        try {
          res = await this.#session.request(record.url, { stream: true, headers, signal, throwOnStatus: false, retry: false });
        } catch (error) {
          throw explainHead(error, record.url);
        }
        const body = res.body;
        // A continuation that cannot be trusted: the part is emptied and the file starts over.
        const startOver = (why: string): never => {
          body.destroy();
          ftruncateSync(fh.fd, 0);
          throw new ResumeMismatchError(`${record.url}: ${why}; starting over`);
        };
        const etag = res.header('etag') ?? null;
        if (res.status === 416 && offset > 0) {
          body.destroy();
          const size = /^\s*bytes\s+\*\/(\d+)\s*$/i.exec(res.header('content-range') ?? '')?.[1];
          if (size !== undefined && Number(size) === offset && record.total === offset && (etag === null || etag === strong)) {
            await fh.datasync();
            return await this.#finalize(record, part, offset, hash, hashed, signal);
          }
          startOver(`the server cannot continue at byte ${offset}`);
        }
        if (res.status >= 300) {
          body.destroy();
          throw new HttpStatusError(res.status, res.url, res.headers, '');
        }
        const length = parseLength(res.header('content-length'));
        let total: number | null;
        if (res.status === 206) {
          const range = parseContentRange(res.header('content-range'));
          if (range === undefined) startOver(`206 without a readable Content-Range (${JSON.stringify(res.header('content-range') ?? null)})`);
          const r = range!;
          if (length !== undefined && length !== r.end - r.start + 1) {
            startOver(`Content-Length ${length} disagrees with Content-Range ${r.start}-${r.end}`);
          }
          if (offset > 0) {
            if (r.start !== offset || r.size === null || r.size !== record.total || r.end !== r.size - 1) {
              startOver(`asked for bytes ${offset}-${record.total! - 1}/${record.total}, got ${r.start}-${r.end}/${r.size ?? '*'}`);
            }
            if (etag !== strong) startOver(`the continuation carries ETag ${etag ?? 'none'}, not ${strong}`);
            total = record.total;
          } else {
            // 206 to a request without Range: usable only when it is the whole file.
            if (r.start !== 0 || r.size === null || r.end !== r.size - 1) {
              startOver(`206 with Content-Range ${r.start}-${r.end}/${r.size ?? '*'} to a request without Range`);
            }
            total = r.size;
          }
        } else {
          offset = 0;
          total = length ?? null;
        }
        if (offset === 0) {
          // A fresh start. The part is emptied before the new validators are recorded, so a
          // crash in between cannot pair old bytes with the new file's validators.
          if (onDisk > 0) ftruncateSync(fh.fd, 0);
          if (!record.named) {
            const proposed = nameFromDisposition(res.header('content-disposition'));
            if (proposed !== undefined) {
              record.name = store.rename(record.id, this.#unreserved(sanitizeName(proposed)));
              record.named = true;
            }
          }
          record.etag = etag;
          record.lastModified = res.header('last-modified') ?? null;
          record.total = total;
          store.begin(record.id, { total, etag: record.etag, lastModified: record.lastModified });
          hash = createHash('sha256');
          hashed = 0;
        }
        if (total !== null && !counted) {
          this.#expected += total - offset;
          counted = true;
        }
        const sink = new FileSink(fh, offset, total ?? Infinity, hash!, (n, position) => {
          this.#bytes += n;
          this.#windowBytes += n;
          received += n;
          if (position > best) {
            best = position;
            progressed = true;
          }
        });
        try {
          await drain(body, sink);
          await fh.datasync();
        } catch (error) {
          hashed = sink.position;
          if (sink.overflow) {
            // A body longer than its range (repeated bytes, say) proves nothing it wrote is
            // where it belongs: none of it is kept.
            ftruncateSync(fh.fd, 0);
            hash = undefined;
            hashed = -1;
            throw new SizeMismatchError(record.url, total!, sink.position + sink.overflow);
          }
          if (signal.aborted) throw signal.reason;
          if (error instanceof Error && (error as { syscall?: unknown }).syscall === undefined && !(error instanceof SizeMismatchError)) {
            const code = (error as { code?: unknown }).code;
            throw new NetworkError(record.url, error instanceof NetworkError ? error.reason : typeof code === 'string' ? code : 'body', { cause: error });
          }
          throw error;
        }
        hashed = sink.position;
        if (total !== null && sink.position !== total) throw new SizeMismatchError(record.url, total, sink.position);
        return await this.#finalize(record, part, sink.position, hash!, hashed, signal);
      } finally {
        await fh.close();
      }
    };
    return retry(attempt, {
      retries: Infinity,
      signal,
      clock: this.#clock,
      retryOn: (error) => {
        this.#errors++;
        this.#windowErrors++;
        if (progressed) stalled = 0;
        else stalled++;
        if (stalled > this.#retries) return false;
        if (error instanceof TransferBudgetError || error instanceof UnsafePathError || error instanceof MalformedResponseError) return false;
        if (error instanceof ResumeMismatchError) return 0;
        const transient = error instanceof SizeMismatchError || isTransient(error, RETRY_STATUSES);
        if (!transient) return false;
        if (error instanceof HttpStatusError) return retryAfterMs(error.headers['retry-after']) ?? this.#backoff(stalled);
        return this.#backoff(stalled);
      },
    });
  }

  async #finalize(record: DownloadRecord, part: string, size: number, hash: Hash | undefined, hashed: number, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
    // A copy: the running hash stays usable if placing the file fails and the attempt is retried.
    const digest = (hash !== undefined && hashed === size ? hash.copy() : await hashPart(part, size)).digest('hex');
    if (record.expectedSha256 !== null && digest !== record.expectedSha256) {
      await unlink(part).catch(() => {});
      throw new ChecksumMismatchError(record.url, record.expectedSha256, digest);
    }
    if (signal.aborted) throw signal.reason;
    if (this.#isReserved(record.name)) throw new UnsafePathError(`refusing to place a download over spate's own file ${record.name}`);
    await rename(part, safeJoin(this.#out, record.name));
    await this.#syncDir();
    return { bytes: size, sha256: digest };
  }

  /** fsyncs `out`; concurrent callers share the next fsync that starts after their call. */
  #syncDir(): Promise<void> {
    if (this.#dirSync === undefined) {
      this.#dirSync = fsyncDir(this.#out).finally(() => {
        this.#dirSync = undefined;
      });
      return this.#dirSync;
    }
    this.#dirSyncNext ??= this.#dirSync.then(() => {
      this.#dirSyncNext = undefined;
      return this.#syncDir();
    });
    return this.#dirSyncNext;
  }
}

/**
 * A Writable into a file at a position, hashing each chunk once it is written (so hash = file).
 * It never writes past `end`: a body longer than announced fails (`overflow` says by how much).
 */
class FileSink extends Writable {
  position: number;
  overflow = 0;
  readonly #end: number;
  readonly #fh: FileHandle;
  readonly #hash: Hash;
  readonly #onBytes: (n: number, position: number) => void;

  constructor(fh: FileHandle, position: number, end: number, hash: Hash, onBytes: (n: number, position: number) => void) {
    super({ highWaterMark: 1024 * 1024 });
    this.#fh = fh;
    this.position = position;
    this.#end = end;
    this.#hash = hash;
    this.#onBytes = onBytes;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    let length = 0;
    for (const b of buffers) length += b.length;
    if (this.position + length > this.#end) {
      this.overflow = this.position + length - this.#end;
      callback(new Error(`the body runs ${this.overflow} bytes past its announced end`));
      return;
    }
    this.#fh.writev(buffers, this.position).then(({ bytesWritten }) => {
      this.#wrote(buffers, bytesWritten, callback);
    }, callback);
  }

  #wrote(buffers: Buffer[], bytesWritten: number, callback: (error?: Error | null) => void): void {
    let expected = 0;
    for (const b of buffers) expected += b.length;
    if (bytesWritten !== expected) {
      callback(new Error(`short write: ${bytesWritten} of ${expected} bytes`));
      return;
    }
    for (const b of buffers) this.#hash.update(b);
    this.position += bytesWritten;
    this.#onBytes(bytesWritten, this.position);
    callback();
  }
}

/**
 * Pipes `body` into `sink` with backpressure. Unlike `pipeline`, a body that breaks does not
 * destroy the sink: what was received is still written (so a resume starts after it), then the
 * body's error is thrown. Resolves when every write has returned.
 */
function drain(body: Readable, sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let failure: unknown;
    const fail = (error: unknown) => {
      if (failure !== undefined) return;
      failure = error;
      body.unpipe(sink);
      sink.end();
    };
    // Destroying the body at the end releases its connection and the session's host permit.
    sink.once('finish', () => {
      body.destroy();
      if (failure === undefined) resolve();
      else reject(failure);
    });
    sink.once('error', (error) => {
      body.destroy();
      reject(error);
    });
    // The body may have broken already, while the file was being opened.
    if (body.errored) return fail(body.errored);
    if (body.destroyed) return fail(new NetworkError('', 'ERR_STREAM_PREMATURE_CLOSE'));
    body.once('error', fail);
    body.once('close', () => {
      if (!body.readableEnded) fail(body.errored ?? new NetworkError('', 'ERR_STREAM_PREMATURE_CLOSE'));
    });
    body.pipe(sink);
  });
}

/** An item handed to `run()` directly gets the checks a list line gets. */
function checkItem(item: ListItem): ListItem | ListError {
  const line = item.line ?? 0;
  const fail = (error: string): ListError => ({ line, text: String(item.url).slice(0, 200), error });
  let url: URL;
  try {
    url = new URL(item.url);
  } catch {
    return fail(`not a URL: ${JSON.stringify(String(item.url).slice(0, 100))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`not an http(s) URL: ${url.protocol}`);
  if (item.sha256 !== undefined && !/^[0-9a-f]{64}$/.test(item.sha256)) return fail('sha256 must be 64 lower-case hex digits');
  return item;
}

function result(record: DownloadRecord): DownloadResult {
  return {
    url: record.url,
    line: record.line,
    name: record.name,
    status: record.skipped ? 'skipped' : record.state === 'done' ? 'done' : 'failed',
    bytes: record.bytes,
    attempts: record.attempts,
    ms: record.ms,
    sha256: record.sha256,
    error: record.error,
  };
}

function parseContentRange(value: string | undefined): { start: number; end: number; size: number | null } | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (m === null) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), size: m[3] === '*' ? null : Number(m[3]) };
}

function parseLength(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/** A request that failed before its response could be read; a malformed head gets its own error. */
function explainHead(error: unknown, url: string): unknown {
  const reason = error instanceof NetworkError ? error.reason : (error as { code?: unknown } | null)?.code;
  // undici reports a head it cannot parse (a control byte in a header value, say) as a length
  // mismatch when Content-Length came first, or as an llhttp HPE_* error.
  if (reason === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || (typeof reason === 'string' && reason.startsWith('HPE_'))) {
    return new MalformedResponseError(`${url}: the server's response head is malformed (an invalid byte in a header such as Content-Disposition?)`, { cause: error });
  }
  return error;
}

/** Refuses a path that is a symbolic link (a missing path is fine). */
async function refuseLink(path: string): Promise<void> {
  let s;
  try {
    s = await lstat(path);
  } catch {
    return;
  }
  if (s.isSymbolicLink()) throw new UnsafePathError(`refusing to follow the symbolic link ${path}`);
}

/** Opens a part file for reading and writing, never through a symbolic link. */
async function openPart(path: string): Promise<FileHandle> {
  try {
    return await open(path, PART_FLAGS, 0o666);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ELOOP') throw new UnsafePathError(`refusing to follow the symbolic link ${path}`, { cause: error });
    throw error;
  }
}

/** The SHA-256 state of the first `length` bytes of an open file. */
async function hashHandle(fh: FileHandle, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(Math.min(length, 1024 * 1024));
  for (let pos = 0; pos < length;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - pos), pos);
    if (bytesRead === 0) throw new Error(`${length} bytes expected, the part ends at ${pos}`);
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash;
}

async function hashPart(path: string, length: number): Promise<Hash> {
  const fh = await openPart(path);
  try {
    return await hashHandle(fh, length);
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

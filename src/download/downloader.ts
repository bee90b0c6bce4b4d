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
// Retries: attempts that write nothing count against `retries`; an attempt that made progress
// resets the count (and the backoff), so a connection that drops every N bytes still finishes.
// 416 on a resume whose part is already whole completes the file; a 200 to a Range, a changed
// validator, or a Content-Range that starts elsewhere starts the file over.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, ftruncateSync } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
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
import { ChecksumMismatchError, ResumeMismatchError, SizeMismatchError } from './errors.ts';
import { ResizableLimit } from './limit.ts';
import { type ListEntry, type ListError, type ListItem, isListError } from './list.ts';
import { nameFromDisposition, nameFromUrl, safeJoin, sanitizeName } from './names.ts';
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
  total_size: number;
  /** Bytes received in this run (less than `total_size` when files were resumed). */
  bytes_transferred: number;
  seconds: number;
  /** Megabytes (10^6) per second transferred in this run. */
  mb_per_s: number;
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
  /** Called as each URL finishes. */
  onProgress?: ((result: DownloadResult, stats: DownloadStats) => void) | undefined;
  /** @default 'spate/0.1 (downloader)' */
  userAgent?: string | undefined;
  clock?: Clock | undefined;
}

/** The file name of the default state file in `out`. */
export const STATE_FILE = '.spate-download.sqlite';
/** Parts live here, under `out`, with names no sanitised name can take (they start with a dot). */
export const PARTIAL_DIR = '.spate-partial';

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
    await mkdir(this.#partDir, { recursive: true });
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
        const name = sanitizeName(entry.name ?? nameFromUrl(entry.url) ?? '');
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
      total_size: t.bytes,
      bytes_transferred: this.#bytes,
      seconds,
      mb_per_s: seconds > 0 ? this.#bytes / 1e6 / seconds : 0,
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
    const tmp = `${path}.tmp-${process.pid}`;
    const fh = await open(tmp, 'w');
    try {
      const write = (text: string) => fh.write(text);
      await write(`{"totals":${JSON.stringify(this.summary())},\n"list_errors":${JSON.stringify([...this.listErrors()])},\n"files":[`);
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
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
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
      const s = await stat(safeJoin(this.#out, record.name));
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
    const attempt = async (): Promise<{ bytes: number; sha256: string }> => {
      state.attempts++;
      progressed = false;
      const onDisk = await sizeOf(part);
      const validator = record.etag !== null && !record.etag.startsWith('W/') ? record.etag : record.lastModified;
      let offset = onDisk > 0 && validator !== null ? onDisk : 0;
      // Everything that waits happens before the request: once the response is here, its body
      // is piped at once, so a body that breaks early loses as little as possible.
      if (offset > 0 && (hash === undefined || hashed !== offset)) {
        hash = await hashFile(part, offset);
        hashed = offset;
      }
      const fh = await open(part, offset > 0 ? 'r+' : 'w');
      try {
        const headers: Record<string, string> = { 'accept-encoding': 'identity' };
        if (offset > 0) {
          headers.range = `bytes=${offset}-`;
          headers['if-range'] = validator!;
        }
        const res = await this.#session.request(record.url, { stream: true, headers, signal, throwOnStatus: false, retry: false });
        const body = res.body;
        if (res.status === 416 && offset > 0) {
          body.destroy();
          const size = /\*\/(\d+)/.exec(res.header('content-range') ?? '')?.[1];
          if (size !== undefined && Number(size) === offset && record.total === offset) {
            await fh.datasync();
            return await this.#finalize(record, part, offset, hash, hashed, signal);
          }
          ftruncateSync(fh.fd, 0);
          throw new ResumeMismatchError(`the server cannot continue ${record.url} at byte ${offset}; starting over`);
        }
        if (res.status >= 300) {
          body.destroy();
          throw new HttpStatusError(res.status, res.url, res.headers, '');
        }
        let total: number | null;
        if (res.status === 206 && offset > 0) {
          const range = parseContentRange(res.header('content-range'));
          const etag = res.header('etag') ?? null;
          if (range === undefined || range.start !== offset || (record.etag !== null && etag !== null && etag !== record.etag)) {
            body.destroy();
            ftruncateSync(fh.fd, 0);
            throw new ResumeMismatchError(`the server answered ${record.url} with another range or file; starting over`);
          }
          total = range.size;
        } else {
          // A fresh start. The part is emptied before the new validators are recorded, so a
          // crash in between cannot pair old bytes with the new file's validators.
          if (offset > 0) ftruncateSync(fh.fd, 0);
          offset = 0;
          const length = res.header('content-length');
          total = res.status === 206 ? (parseContentRange(res.header('content-range'))?.size ?? null) : length === undefined ? null : Number(length);
          if (!record.named) {
            const proposed = nameFromDisposition(res.header('content-disposition'));
            if (proposed !== undefined) {
              record.name = store.rename(record.id, sanitizeName(proposed));
              record.named = true;
            }
          }
          record.etag = res.header('etag') ?? null;
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
        const sink = new FileSink(fh, offset, hash!, (n) => {
          this.#bytes += n;
          this.#windowBytes += n;
          progressed = true;
        });
        try {
          await drain(body, sink);
          await fh.datasync();
        } catch (error) {
          hashed = sink.position;
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
    const digest = (hash !== undefined && hashed === size ? hash.copy() : await hashFile(part, size)).digest('hex');
    if (record.expectedSha256 !== null && digest !== record.expectedSha256) {
      await unlink(part).catch(() => {});
      throw new ChecksumMismatchError(record.url, record.expectedSha256, digest);
    }
    if (signal.aborted) throw signal.reason;
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

/** A Writable into a file at a position, hashing each chunk once it is written (so hash = file). */
class FileSink extends Writable {
  position: number;
  readonly #fh: FileHandle;
  readonly #hash: Hash;
  readonly #onBytes: (n: number) => void;

  constructor(fh: FileHandle, position: number, hash: Hash, onBytes: (n: number) => void) {
    super({ highWaterMark: 1024 * 1024 });
    this.#fh = fh;
    this.position = position;
    this.#hash = hash;
    this.#onBytes = onBytes;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#fh.write(chunk, 0, chunk.length, this.position).then(({ bytesWritten }) => {
      this.#wrote([chunk], bytesWritten, callback);
    }, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
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
    this.#onBytes(bytesWritten);
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

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** The SHA-256 state of a file's first `length` bytes. */
async function hashFile(path: string, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (length === 0) return hash;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

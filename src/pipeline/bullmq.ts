// The broker transport on BullMQ (Redis). Design notes:
//
// - Leases with fencing: BullMQ's job lock is the lease and its token the fencing token. A worker
//   whose lock lapsed (event loop blocked past `lease`, a network partition) lost the job to the
//   stalled-job check; before its outputs reach the sink, and atomically with the results write
//   (`results: true`), spate checks the lock still holds ITS token. A stale completion is refused
//   (event `fenced`), never written over the live copy's.
// - Retries are spate's, not BullMQ's `attempts`: a failed delivery goes back as a delayed job
//   (`moveToDelayed` + DelayedError), so the stage's backoff, `retryOn` and `maxDelay` decide,
//   the same as in process. A dead job is moved to the failed set (UnrecoverableError) with its
//   DeadLetter record in the job data: the failed set is the dead-letter queue.
// - Bounded Redis memory by default: completed jobs keep only the last `keepCompleted`, failed
//   jobs (dead letters) the last `keepFailed`.
// - Idempotency: a single-item job's id comes from its key, so enqueueing a key already queued
//   is a no-op; with `results: true` a key already done is not run again either.
import { createHash, randomUUID } from 'node:crypto';
import { DelayedError, type Job, Queue, UnrecoverableError, WaitingError, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { InvalidArgumentError, sleep } from '../core/index.ts';
import { checkInteger } from '../core/validate.ts';
import { FencedError } from './errors.ts';
import {
  type AnyStage, type Broker, type BrokerDeadLetter, type BrokerOptions, type DeadLetters, type EnqueueOptions, type JobData, type Producer,
  type Worker, type WorkerEvent, type WorkerOptions, type WorkerStats, attemptOnce, brokerSettings, enqueueEach, retryDelay, workerSettings,
} from './broker.ts';
import { type DeadLetter, deadLetter } from './dead-letter.ts';

/** Options of a BullMQ (Redis) broker: the common ones and Redis's own. */
export interface BullmqOptions extends BrokerOptions {
  /** Redis key prefix. @default 'spate' */
  prefix?: string | undefined;
  /** Lock (lease) time in ms; a worker that does not renew it within this loses its jobs to another. @default 30_000 */
  lease?: number | undefined;
  /** Completed jobs kept in Redis (the newest). @default 1000 */
  keepCompleted?: number | undefined;
  /** Dead letters kept in Redis (the newest). @default 10_000 */
  keepFailed?: number | undefined;
  /** Store each item's outputs in a Redis hash keyed by the item's key, fenced (read with `results()`). @default false */
  results?: boolean | undefined;
  /** Per-key rate limit: items with the same `rateKey(item)` start at most `stage.options.rateLimit.limit` times per interval. */
  rateKey?: ((item: unknown) => string) | undefined;
}

interface Data extends JobData {
  /** Attempts made before this job (an item split out of a batch carries its count). */
  readonly base?: number | undefined;
  /** Set on a job that is dead on arrival (a batch item with no retries left). */
  readonly dead?: DeadLetter | undefined;
}

// Fenced write: only the holder of the job's current lock token writes the result.
const fencedWrite = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1`;
// Fixed-window counter per key; returns ms until the window ends when over the limit, else 0.
const windowCount = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return redis.call('PTTL', KEYS[1]) end
return 0`;

function jobId(key: string): string {
  // BullMQ refuses all-digit custom ids and ids with ':'.
  if (/^[A-Za-z0-9_.-]{1,120}$/.test(key) && !/^\d+$/.test(key)) return `k.${key}`;
  return `h.${createHash('sha1').update(key).digest('hex')}`;
}

export class BullmqBroker implements Broker {
  readonly kind = 'bullmq' as const;
  readonly #url: string;
  readonly #queue: string;
  readonly #prefix: string;
  readonly #maxQueued: number;
  readonly #batch: number;
  readonly #lease: number;
  readonly #keepCompleted: number;
  readonly #keepFailed: number;
  readonly #results: boolean;
  readonly #rateKey: ((item: unknown) => string) | undefined;
  readonly #redis: Redis;
  readonly #q: Queue;
  readonly #producers = new Set<BullmqProducer<unknown>>();
  readonly #workers = new Set<Worker>();
  #closed: Promise<void> | undefined;

  private constructor(url: string, options: BullmqOptions, redis: Redis) {
    const s = brokerSettings(options);
    this.#url = url;
    this.#queue = s.queue;
    this.#maxQueued = s.maxQueued;
    this.#batch = s.batch;
    this.#prefix = options.prefix ?? 'spate';
    if (!/^[A-Za-z0-9_.-]+$/.test(this.#prefix)) throw new InvalidArgumentError(`Expected \`prefix\` to be letters, digits or -_. , got ${JSON.stringify(this.#prefix)}`);
    this.#lease = checkInteger('lease', options.lease ?? 30_000, 100);
    this.#keepCompleted = checkInteger('keepCompleted', options.keepCompleted ?? 1000, 0);
    this.#keepFailed = checkInteger('keepFailed', options.keepFailed ?? 10_000, 1);
    this.#results = options.results ?? false;
    this.#rateKey = options.rateKey;
    this.#redis = redis;
    this.#q = new Queue(this.#queue, { connection: redis, prefix: this.#prefix });
  }

  /** Connects to Redis at `url` (redis://host:port/db). */
  static async connect(url: string, options: BullmqOptions): Promise<BullmqBroker> {
    brokerSettings(options);
    const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    // ioredis reconnects by itself and reports each failed try as an 'error' event; commands wait.
    redis.on('error', () => {});
    try {
      await redis.connect();
      return new BullmqBroker(url, options, redis);
    } catch (error) {
      redis.disconnect();
      throw error;
    }
  }

  get queue(): Queue {
    return this.#q;
  }

  /** Fills in the job options every job of this broker gets. */
  jobOptions(key: string | undefined, delay = 0): { jobId?: string; delay?: number; removeOnComplete: { count: number }; removeOnFail: { count: number } } {
    const opts: { jobId?: string; delay?: number; removeOnComplete: { count: number }; removeOnFail: { count: number } } = {
      removeOnComplete: { count: this.#keepCompleted },
      removeOnFail: { count: this.#keepFailed },
    };
    if (key !== undefined) opts.jobId = jobId(key);
    if (delay > 0) opts.delay = delay;
    return opts;
  }

  producer<I>(): Producer<I> {
    const p = new BullmqProducer<I>(this, this.#maxQueued, this.#batch);
    this.#producers.add(p as BullmqProducer<unknown>);
    return p;
  }

  async depth(): Promise<number> {
    const counts = await this.#q.getJobCounts('wait', 'prioritized', 'delayed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  async worker(stage: AnyStage, options: WorkerOptions = {}): Promise<Worker> {
    const { concurrency, grace } = workerSettings(stage, options);
    const stats: WorkerStats = { done: 0, retried: 0, dead: 0, fenced: 0, inFlight: 0, concurrency };
    const emit = (event: WorkerEvent): void => options.onEvent?.(event);
    const redis = this.#redis;
    const resultsKey = `${this.#prefix}:${this.#queue}:results`;
    const lockKey = (job: Job): string => `${this.#q.toKey(job.id!)}:lock`;
    const rate = stage.options.rateLimit;
    const rateKey = this.#rateKey;
    const withResults = this.#results;

    const runItem = async (job: Job, token: string, item: unknown, key: string, attempt: number, signal: AbortSignal): Promise<'ok' | 'fenced' | { error: unknown }> => {
      if (withResults && (await redis.hexists(resultsKey, key))) return 'ok';
      let outputs: unknown[];
      try {
        outputs = await attemptOnce(stage, item, attempt, signal);
      } catch (error) {
        return { error };
      }
      // A stale lease writes nothing: checked before the user's sink, atomic with the results hash.
      // Without either, BullMQ's own token check on completion is the fence (no extra round trip).
      if (options.sink) {
        if ((await redis.get(lockKey(job))) !== token) return 'fenced';
        await options.sink(outputs, { key, item, attempt });
      }
      if (withResults) {
        const ok = await redis.eval(fencedWrite, 2, lockKey(job), resultsKey, token, key, JSON.stringify(outputs));
        if (ok !== 1) return 'fenced';
      }
      return 'ok';
    };

    const processor = async (job: Job<Data>, token?: string, signal?: AbortSignal): Promise<void> => {
      if (token === undefined || signal === undefined) throw new InvalidArgumentError('BullMQ gave no lock token: spate needs bullmq ≥ 6');
      const data = job.data;
      const attempt = (data.base ?? 0) + job.attemptsStarted;
      if (data.dead) throw new UnrecoverableError(JSON.stringify(data.dead));
      if (rate && rateKey) {
        const wait = Number(await redis.eval(windowCount, 1, `${this.#prefix}:${this.#queue}:rate:${rateKey(data.items[0])}`, String(rate.limit), String(Math.max(1, rate.interval))));
        if (wait > 0) {
          await job.moveToDelayed(Date.now() + wait, token);
          throw new DelayedError();
        }
      }
      stats.inFlight++;
      try {
        const results = await Promise.all(data.items.map((item, i) => runItem(job, token, item, data.keys[i]!, attempt, signal)));
        if (signal.aborted) {
          // Shutdown past the grace period: hand the job back untouched, not as a failed attempt.
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (results.includes('fenced')) {
          stats.fenced++;
          emit({ type: 'fenced', key: data.keys[0]!, attempt });
          throw new FencedError(`Job ${job.id} lost its lease to another worker; this completion was refused`);
        }
        const failed = results.flatMap((r, i) => (typeof r === 'object' ? [{ i, error: r.error }] : []));
        stats.done += data.items.length - failed.length;
        for (let i = 0; i < results.length; i++) if (results[i] === 'ok') emit({ type: 'done', key: data.keys[i]!, attempt });
        if (failed.length === 0) return;
        if (data.items.length > 1) {
          // A batch completes; each failed item goes on alone with its own retries.
          await this.#q.addBulk(failed.map(({ i, error }) => {
            const delay = retryDelay(stage, error, attempt);
            const record = delay === undefined ? deadLetter(data.items[i], stage.name, error, attempt, Date.now(), data.keys[i]) : undefined;
            const next: Data = { items: [data.items[i]], keys: [data.keys[i]!], stage: stage.name, base: attempt, dead: record };
            return { name: 'item', data: next, opts: this.jobOptions(data.keys[i], delay) };
          }));
          return;
        }
        const error = failed[0]!.error;
        const delay = retryDelay(stage, error, attempt);
        if (delay !== undefined) {
          stats.retried++;
          emit({ type: 'retry', key: data.keys[0]!, attempt, delay, error });
          await job.moveToDelayed(Date.now() + delay, token);
          throw new DelayedError();
        }
        // 'dead' is reported from the worker's 'failed' event, once the job is in the failed set.
        throw new UnrecoverableError(JSON.stringify(deadLetter(data.items[0], stage.name, error, attempt, Date.now(), data.keys[0])));
      } finally {
        stats.inFlight--;
      }
    };

    const worker = new BullWorker<Data>(this.#queue, processor, {
      connection: this.#redis.duplicate(),
      prefix: this.#prefix,
      concurrency,
      lockDuration: this.#lease,
      stalledInterval: this.#lease,
      maxStalledCount: 2,
      autorun: false,
      ...(rate && !rateKey ? { limiter: { max: rate.limit, duration: rate.interval } } : {}),
    });
    // Lock and connection errors are BullMQ's to retry; a fenced completion also lands here.
    worker.on('error', (error) => emit({ type: 'error', error }));
    worker.on('failed', (job, error) => {
      if (!job || !(error instanceof UnrecoverableError)) return;
      let record: DeadLetter | undefined;
      try {
        record = JSON.parse(error.message) as DeadLetter;
      } catch {
        return;
      }
      stats.dead++;
      emit({ type: 'dead', key: record.key ?? String(job.id), attempt: record.attempts, error: record.error });
    });
    void worker.run().catch((error: unknown) => emit({ type: 'error', error }));
    await worker.waitUntilReady();

    let closing: Promise<void> | undefined;
    const handle: Worker = {
      setConcurrency(n: number) {
        worker.concurrency = checkInteger('concurrency', n, 1);
        stats.concurrency = n;
      },
      stats: () => ({ ...stats }),
      close: () => {
        closing ??= (async () => {
          const timer = Number.isFinite(grace) ? setTimeout(() => worker.cancelAllJobs('worker shutting down'), grace) : undefined;
          try {
            await worker.close();
          } finally {
            clearTimeout(timer);
            await worker.disconnect().catch(() => {});
            this.#workers.delete(handle);
          }
        })();
        return closing;
      },
      get closed() {
        return closing ?? new Promise<void>((resolve) => worker.once('closed', () => resolve()));
      },
    };
    this.#workers.add(handle);
    return handle;
  }

  /** The outputs stored with `results: true`, by item key. */
  async results(): Promise<Map<string, unknown[]>> {
    const all = await this.#redis.hgetall(`${this.#prefix}:${this.#queue}:results`);
    return new Map(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as unknown[]]));
  }

  deadLetters(): DeadLetters {
    const q = this.#q;
    const toLetter = (job: Job<Data>): BrokerDeadLetter => {
      let record: DeadLetter | undefined;
      try {
        record = JSON.parse(job.failedReason) as DeadLetter;
      } catch {
        // Failed by BullMQ itself (stalled too often): no spate record.
      }
      const fallback = deadLetter(job.data.items.length === 1 ? job.data.items[0] : job.data.items, job.data.stage ?? this.#queue,
        { name: 'Error', message: job.failedReason }, job.attemptsStarted, job.finishedOn ?? Date.now(), job.data.keys[0]);
      return { ...(record ?? fallback), id: job.id! };
    };
    const select = async (ids: readonly string[] | undefined): Promise<Job<Data>[]> => {
      if (ids) return (await Promise.all(ids.map((id) => q.getJob(id) as Promise<Job<Data> | undefined>))).filter((j): j is Job<Data> => j !== undefined);
      return (await q.getFailed(0, -1)) as Job<Data>[];
    };
    return {
      list: async ({ limit = 1000 } = {}) => ((await q.getFailed(0, limit - 1)) as Job<Data>[]).map(toLetter),
      replay: async ({ ids } = {}) => {
        let n = 0;
        for (const job of await select(ids)) {
          if (!(await job.isFailed())) continue;
          const data: Data = { items: job.data.items, keys: job.data.keys, stage: job.data.stage };
          await job.updateData(data);
          await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          n++;
        }
        return n;
      },
      purge: async ({ ids } = {}) => {
        let n = 0;
        for (const job of await select(ids)) {
          if (!(await job.isFailed())) continue;
          await job.remove();
          n++;
        }
        return n;
      },
    };
  }

  async destroy(): Promise<void> {
    await this.#q.obliterate({ force: true });
    const keys = await this.#redis.keys(`${this.#prefix}:${this.#queue}:*`);
    if (keys.length > 0) await this.#redis.del(...keys);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#producers].map((p) => p.flush().catch(() => {})));
      await Promise.all([...this.#workers].map((w) => w.close()));
      await this.#q.close();
      await this.#redis.quit().catch(() => {});
    })();
    return this.#closed;
  }

  toString(): string {
    return `BullmqBroker(${this.#url}, ${this.#queue})`;
  }
}

// Jobs go to Redis in bulk (one round trip per chunk); `enqueue` resolves once its job is there.
class BullmqProducer<I> implements Producer<I> {
  readonly #broker: BullmqBroker;
  readonly #maxQueued: number;
  readonly #batch: number;
  readonly #checkEvery: number;
  #sinceCheck = Infinity;
  // Serialises enqueues: the bound check and the push happen in call order, and `flush` sees every earlier push.
  #gate: Promise<void> = Promise.resolve();
  #items: unknown[] = [];
  #keys: string[] = [];
  #jobs: { name: string; data: Data; opts: ReturnType<BullmqBroker['jobOptions']> }[] = [];
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #scheduled = false;
  #inFlight = new Set<Promise<void>>();

  constructor(broker: BullmqBroker, maxQueued: number, batch: number) {
    this.#broker = broker;
    this.#maxQueued = maxQueued;
    this.#batch = batch;
    this.#checkEvery = Math.max(1, Math.floor(maxQueued / 10));
  }

  async #room(signal: AbortSignal | undefined): Promise<void> {
    if (this.#sinceCheck < this.#checkEvery) return;
    for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
      if ((await this.#broker.depth()) + this.#pendingItems() < this.#maxQueued) break;
      await sleep(wait, { signal });
    }
    this.#sinceCheck = 0;
  }

  #pendingItems(): number {
    return this.#waiters.length;
  }

  async enqueue(item: I, options: EnqueueOptions = {}): Promise<void> {
    let done: Promise<void> | undefined;
    const turn = this.#gate.then(async () => {
      await this.#room(options.signal);
      done = this.#push(item, options.key ?? randomUUID());
    });
    this.#gate = turn.catch(() => {});
    await turn;
    return done;
  }

  #push(item: unknown, key: string): Promise<void> {
    this.#sinceCheck++;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#items.push(item);
    this.#keys.push(key);
    if (this.#items.length >= this.#batch) this.#pack();
    if (this.#jobs.length >= 100) this.#send();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        if (this.#batch === 1) this.#send();
      });
    }
    return done;
  }

  enqueueAll(items: Iterable<I> | AsyncIterable<I>, options: { key?: ((item: I, index: number) => string) | undefined; signal?: AbortSignal | undefined } = {}): Promise<number> {
    return enqueueEach(this, items, options, 1000);
  }

  #pack(): void {
    if (this.#items.length === 0) return;
    const data: Data = { items: this.#items, keys: this.#keys };
    const key = this.#items.length === 1 ? this.#keys[0] : undefined;
    this.#jobs.push({ name: 'item', data, opts: this.#broker.jobOptions(key) });
    this.#items = [];
    this.#keys = [];
  }

  #send(): void {
    if (this.#batch === 1) this.#pack();
    if (this.#jobs.length === 0) return;
    const jobs = this.#jobs;
    const waiters = this.#waiters.splice(0, jobs.reduce((n, j) => n + j.data.items.length, 0));
    this.#jobs = [];
    const p = this.#broker.queue.addBulk(jobs).then(
      () => waiters.forEach((w) => w.resolve()),
      (error: unknown) => waiters.forEach((w) => w.reject(error)),
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  async flush(): Promise<void> {
    await this.#gate;
    this.#pack();
    this.#send();
    await Promise.all(this.#inFlight);
  }
}

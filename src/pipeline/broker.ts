// The small interface a broker transport gives the pipeline: a producer that enqueues with
// backpressure, a worker that runs one stage definition (stage.ts, unchanged) on what it
// receives, and the broker's dead letters. BullMQ (bullmq.ts) and RabbitMQ (amqp.ts) implement
// it; `connectBroker` picks one from the URL's scheme and loads only that client library.
//
// Delivery model shared by both: each delivery of a job is ONE attempt of the stage function;
// retries are the broker's (delayed jobs / retry queues), so they survive the worker process.
// After the stage's `retry.retries`, the job goes to the broker's dead letters with the
// `DeadLetter` record of dead-letter.ts. Delivery is at least once; outputs reach the worker's
// `sink` keyed by the job's key, so a keyed sink (upsert) gives every item exactly once.
import { InvalidArgumentError, timeout } from '../core/index.ts';
import { checkInteger, checkNonNegative } from '../core/validate.ts';
import { BrokerUrlError } from './errors.ts';
import type { AmqpOptions } from './amqp.ts';
import type { BullmqOptions } from './bullmq.ts';
import type { DeadLetter } from './dead-letter.ts';
import { type Stage, type StageContext, outputsOf } from './stage.ts';

/** Options every transport understands. */
export interface BrokerOptions {
  /** The queue's name; producers and workers of one stage use the same one. Letters, digits, `-_.` only. */
  queue: string;
  /**
   * The producer waits while the queue holds more than this many jobs (backpressure across
   * processes: a fast producer never runs ahead of the workers by more than this).
   * @default 10_000
   */
  maxQueued?: number | undefined;
  /**
   * Items per job. Above 1 the producer packs items into one job and the worker runs the stage on
   * each (one broker round trip for many items); an item that fails in a batch is re-enqueued alone
   * with its own retries. @default 1
   */
  batch?: number | undefined;
}

/** One item to enqueue, with the key that makes enqueueing and sinking idempotent. */
export interface EnqueueOptions {
  /** Idempotency key: a second job with a key already queued or done is not run again. @default a random id */
  key?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** Puts items on a broker queue, with backpressure (it waits while the queue is past `maxQueued`). */
export interface Producer<I = unknown> {
  /** Enqueues one item; waits while the queue is past `maxQueued`. */
  enqueue(item: I, options?: EnqueueOptions): Promise<void>;
  /** Enqueues every item (keyed by `key(item, index)` when given); resolves with the count. */
  enqueueAll(items: Iterable<I> | AsyncIterable<I>, options?: { key?: ((item: I, index: number) => string) | undefined; signal?: AbortSignal | undefined }): Promise<number>;
  /** Sends what a partial batch holds and waits until the broker has every job. */
  flush(): Promise<void>;
}

/** What the worker knows about one output it hands to the sink. */
export interface SinkContext {
  /** The job's key (the item's idempotency key). Sink outputs keyed by it. */
  readonly key: string;
  /** The stage input the outputs came from. */
  readonly item: unknown;
  /** Which delivery this was, 1 for the first. */
  readonly attempt: number;
}

/** Where a worker's outputs go. Must be idempotent per `key` (an upsert) for exactly-once output. */
export type Sink = (outputs: unknown[], ctx: SinkContext) => void | Promise<void>;

/** What happened to one job, for progress and `--json`. */
export type WorkerEvent =
  | { readonly type: 'done'; readonly key: string; readonly attempt: number }
  | { readonly type: 'retry'; readonly key: string; readonly attempt: number; readonly delay: number; readonly error: unknown }
  | { readonly type: 'dead'; readonly key: string; readonly attempt: number; readonly error: unknown }
  | { readonly type: 'fenced'; readonly key: string; readonly attempt: number }
  | { readonly type: 'error'; readonly error: unknown };

/** How a worker runs its stage (the rest comes from the stage's own options). */
export interface WorkerOptions {
  /** Jobs run at once in this process; changeable later with `setConcurrency`. @default the stage's concurrency (its max) */
  concurrency?: number | undefined;
  /** Receives each successful job's outputs before the job is acknowledged. */
  sink?: Sink | undefined;
  /** Called for every job outcome. */
  onEvent?: ((event: WorkerEvent) => void) | undefined;
  /**
   * On `close()`, in-flight jobs get this long to finish; then their signals abort and they are
   * handed back to the broker (not counted as a failed attempt). @default 30_000
   */
  grace?: number | undefined;
}

/** A worker's counts since it started. */
export interface WorkerStats {
  /** Jobs completed (outputs sunk, job acknowledged). */
  done: number;
  /** Attempts that failed and went back to the broker for a retry. */
  retried: number;
  /** Jobs that ran out of retries and became dead letters. */
  dead: number;
  /** Completions refused because the lease had passed to another worker (or the connection changed). */
  fenced: number;
  /** Jobs running now. */
  inFlight: number;
  /** Jobs allowed at once now. */
  concurrency: number;
}

/** A stage running on a broker queue in this process (what `spate worker` runs). */
export interface Worker {
  /** Changes how many jobs run at once, now. */
  setConcurrency(n: number): void;
  /** The counts so far. */
  stats(): WorkerStats;
  /** Stops taking jobs, lets in-flight ones finish (or hands them back after `grace`), closes. Safe twice. */
  close(): Promise<void>;
  /** Resolves when the worker has closed. */
  readonly closed: Promise<void>;
}

/** A stored dead letter in the broker, with the id `replay`/`purge` take. */
export interface BrokerDeadLetter extends DeadLetter {
  readonly id: string;
}

/** The broker's dead letters of one queue: `spate pipeline dlq … --broker URL`. */
export interface DeadLetters {
  /** The dead letters, oldest first (at most `limit`). */
  list(options?: { limit?: number | undefined }): Promise<BrokerDeadLetter[]>;
  /** Sends dead letters (all, or those ids) back to the queue with fresh attempts; resolves with the count. */
  replay(options?: { ids?: readonly string[] | undefined }): Promise<number>;
  /** Drops dead letters (all, or those ids); resolves with the count. */
  purge(options?: { ids?: readonly string[] | undefined }): Promise<number>;
}

/** One broker connection for one queue. */
export interface Broker {
  readonly kind: 'bullmq' | 'amqp';
  /** A producer for this queue. */
  producer<I>(): Producer<I>;
  /** Starts running `stage` on this queue's jobs in this process. */
  worker(stage: AnyStage, options?: WorkerOptions): Promise<Worker>;
  /** The queue's dead letters in the broker. */
  deadLetters(): DeadLetters;
  /** Jobs waiting (not running, not dead). */
  depth(): Promise<number>;
  /** Deletes every trace of the queue in the broker (tests, benchmarks). */
  destroy(): Promise<void>;
  /** Closes the connections; flushes producers first. Safe twice. */
  close(): Promise<void>;
}

/** The job payload both transports carry. */
export interface JobData {
  /** The items (one unless batched). */
  readonly items: unknown[];
  /** Their keys, one per item. */
  readonly keys: string[];
  /** The stage name, for dead letters. */
  readonly stage?: string | undefined;
}

/**
 * `Producer.enqueueAll` for every transport: enqueues each item with at most `window` unsettled at
 * once, flushes, and rejects with the first failure after the rest settled.
 */
export async function enqueueEach<I>(producer: Producer<I>, items: Iterable<I> | AsyncIterable<I>, options: { key?: ((item: I, index: number) => string) | undefined; signal?: AbortSignal | undefined }, window: number): Promise<number> {
  const pending = new Set<Promise<void>>();
  let n = 0;
  let failure: unknown;
  for await (const item of items) {
    if (failure !== undefined) break;
    const p = producer.enqueue(item, { key: options.key?.(item, n), signal: options.signal });
    n++;
    pending.add(p);
    p.then(() => pending.delete(p), (e: unknown) => (failure ??= e));
    if (pending.size >= window) await Promise.race(pending);
  }
  await producer.flush();
  await Promise.all(pending);
  if (failure !== undefined) throw failure;
  return n;
}

/** Any stage, whatever its input and output types (a worker accepts every one). */
export type AnyStage = Stage<never, unknown>;

const queueName = /^[A-Za-z0-9_.-]{1,200}$/;

/** Checks options shared by the transports; returns them with defaults filled in. */
export function brokerSettings(options: BrokerOptions): { queue: string; maxQueued: number; batch: number } {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`Expected broker options { queue }, got ${String(options)}`);
  if (typeof options.queue !== 'string' || !queueName.test(options.queue)) {
    throw new InvalidArgumentError(`Expected \`queue\` to be 1-200 letters, digits or -_. , got ${JSON.stringify(options.queue)}`);
  }
  return {
    queue: options.queue,
    maxQueued: checkInteger('maxQueued', options.maxQueued ?? 10_000, 1),
    batch: checkInteger('batch', options.batch ?? 1, 1),
  };
}

export function workerSettings(stage: AnyStage, options: WorkerOptions): { concurrency: number; grace: number } {
  if (stage === null || typeof stage !== 'object' || typeof stage.name !== 'string' || typeof stage.options !== 'object') {
    throw new InvalidArgumentError(`Expected a stage (defineStage / a pipeline stage), got ${String(stage)}`);
  }
  if (stage.kind === 'batch') throw new InvalidArgumentError(`Stage '${stage.name}': batch stages run in process; use the broker's \`batch\` option instead`);
  return {
    concurrency: checkInteger('concurrency', options.concurrency ?? stage.options.max, 1),
    grace: checkNonNegative('grace', options.grace ?? 30_000, true),
  };
}

/** One attempt of `stage` on `item`: the stage's timeout around `outputsOf`. Rejects with the failure. */
export function attemptOnce(stage: AnyStage, item: unknown, attempt: number, signal: AbortSignal, limit = Infinity): Promise<unknown[]> {
  const ms = Math.min(stage.options.timeout, limit);
  const ctx: StageContext = { signal, attempt, stage: stage.name };
  const any = stage as Stage;
  if (ms === Infinity) return outputsOf(any, item, ctx);
  return timeout(ms, ({ signal: inner }) => outputsOf(any, item, { ...ctx, signal: inner }), { signal });
}

/**
 * After attempt `attempt` failed with `error`: retry after how many ms, or `undefined` for a dead
 * letter (retries used up, `retryOn` said no, or the wait is past `maxDelay`).
 */
export function retryDelay(stage: AnyStage, error: unknown, attempt: number): number | undefined {
  const s = stage.options;
  if (attempt > s.retries) return undefined;
  let delay = s.backoff(attempt);
  if (s.retryOn) {
    const verdict = s.retryOn(error, attempt);
    if (verdict === false) return undefined;
    if (typeof verdict === 'number') delay = verdict;
  }
  if (!(delay >= 0) || delay > s.maxDelay) return undefined;
  return Math.round(delay);
}

/** `redis://` / `rediss://` → BullMQ; `amqp://` / `amqps://` → RabbitMQ. */
export function brokerKind(url: string): 'bullmq' | 'amqp' {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BrokerUrlError(`Expected a broker URL (redis://… or amqp://…), got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol === 'redis:' || parsed.protocol === 'rediss:') return 'bullmq';
  if (parsed.protocol === 'amqp:' || parsed.protocol === 'amqps:') return 'amqp';
  throw new BrokerUrlError(`No broker transport for ${parsed.protocol}// (use redis:// for BullMQ or amqp:// for RabbitMQ)`);
}

/**
 * Opens the broker at `url` for one queue. Only the client library of that broker is loaded.
 *
 * @example
 * const broker = await connectBroker('redis://127.0.0.1:6379', { queue: 'thumbs' });
 * await broker.producer<string>().enqueueAll(urls, { key: (url) => url });
 */
export async function connectBroker(url: string, options: BrokerOptions & Partial<BullmqOptions> & Partial<AmqpOptions>): Promise<Broker> {
  const kind = brokerKind(url);
  brokerSettings(options);
  if (kind === 'bullmq') {
    const { BullmqBroker } = await import('./bullmq.ts');
    return BullmqBroker.connect(url, options);
  }
  const { AmqpBroker } = await import('./amqp.ts');
  return AmqpBroker.connect(url, options);
}

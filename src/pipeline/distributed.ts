// A whole pipeline on a broker: each stage a worker on its own queue `<prefix>.<stage>`, a stage's
// sink enqueueing its outputs into the next stage's queue, the last stage's outputs going to the
// caller's sink. `enqueueSource` puts the pipeline's source on the first queue. The stages are the
// pipeline's own definitions, unchanged; only how items travel differs.
//
// Keys carry the idempotency from the source to the end: an item's key in the next queue is its
// job's key when the stage gave one output, `${key}/${i}` for the i-th of several (flatMap), and
// nothing goes on for a filtered-out item. A stage's sink runs before its job is acknowledged, so
// after a crash the job runs again and enqueues the same keys: BullMQ drops a job whose id (from
// the key) is still in Redis; RabbitMQ has no dedup, and the final keyed sink collapses repeats.
import { InvalidArgumentError } from '../core/errors.ts';
import type { AmqpOptions } from './amqp.ts';
import { type Broker, type Producer, type Sink, type Worker, type WorkerEvent, type WorkerStats, connectBroker } from './broker.ts';
import type { BullmqOptions } from './bullmq.ts';
import type { Pipeline } from './pipeline.ts';

/** What the distributed run needs of a pipeline (any `Pipeline<T>` is one). */
export type PipelineLike = Pick<Pipeline<unknown>, 'source' | 'stages' | 'options'>;

/** Transport options every stage's connection gets (`batch`, `maxQueued`, `lease`, `keepCompleted`, …). */
export type TransportOptions = Omit<Partial<BullmqOptions> & Partial<AmqpOptions>, 'queue'>;

/** Options shared by `runDistributed` and `enqueueSource`: where the queues are. */
export interface DistributedOptions {
  /** Queues are named `<prefix>.<stage name>`. Letters, digits, `-_.` only. @default the pipeline's name (required when it has none) */
  prefix?: string | undefined;
  /** Transport options for every queue's connection. */
  brokerOptions?: TransportOptions | undefined;
}

/** A worker's event, with the stage it came from. */
export type StageWorkerEvent = WorkerEvent & { readonly stage: string };

/** Options of `runDistributed`. */
export interface DistributedWorkerOptions extends DistributedOptions {
  /**
   * Receives the last stage's outputs (possibly none, for a filtered-out item), keyed by the job's
   * key, before the job is acknowledged. Must be idempotent per key (an upsert) for exactly-once output.
   */
  sink?: Sink | undefined;
  /** Every job outcome of every stage. */
  onEvent?: ((event: StageWorkerEvent) => void) | undefined;
  /** Jobs at once per stage in this process. @default each stage's own concurrency (its max) */
  concurrency?: number | undefined;
  /** On `close()`, each stage's in-flight jobs get this long before they are handed back. @default 30_000 */
  grace?: number | undefined;
}

/** One stage's queue name. */
export interface StageQueue {
  readonly stage: string;
  readonly queue: string;
}

/** The workers of every stage of a pipeline, running in this process. */
export interface DistributedWorkers {
  readonly kind: 'bullmq' | 'amqp';
  /** Each stage's queue and worker, in pipeline order. */
  readonly stages: readonly (StageQueue & { readonly worker: Worker })[];
  /** Each stage's counts, in pipeline order. */
  stats(): (StageQueue & WorkerStats)[];
  /**
   * Stops every stage's worker, first stage first (so a closing stage's last outputs still find the
   * next stage consuming), each with its `grace`; then closes the connections. Safe twice.
   */
  close(): Promise<void>;
  /** Resolves when `close()` has finished. */
  readonly closed: Promise<void>;
}

/** Options of `enqueueSource`. */
export interface EnqueueSourceOptions extends DistributedOptions {
  /** Each source item's key. @default its index in the source, as a string (stable when the same source is enqueued again) */
  key?: ((item: unknown, index: number) => string) | undefined;
  /** Aborts the enqueueing (items already in the broker stay there). */
  signal?: AbortSignal | undefined;
}

const allowed = /^[A-Za-z0-9_.-]+$/;

/**
 * Every stage's queue: `<prefix>.<stage name>`, where a character a queue name cannot hold becomes
 * `_` (`map#0` → `map_0`). Throws InvalidArgumentError for a batch stage (group on the broker
 * with the transport's `batch` option instead), a missing or bad prefix, or two stages whose
 * queue names would be the same.
 */
export function pipelineQueues(p: PipelineLike, options: { prefix?: string | undefined } = {}): StageQueue[] {
  if (p === null || typeof p !== 'object' || !Array.isArray(p.stages)) throw new InvalidArgumentError(`Expected a pipeline, got ${String(p)}`);
  if (p.stages.length === 0) throw new InvalidArgumentError('a pipeline needs at least one stage');
  const prefix = options.prefix ?? p.options.name;
  if (prefix === undefined) throw new InvalidArgumentError('the pipeline has no name: name it (pipeline(source, { name })) or give its queues a `prefix` (--prefix on the command line)');
  if (typeof prefix !== 'string' || prefix.length > 100 || !allowed.test(prefix)) {
    throw new InvalidArgumentError(`Expected the queue prefix to be 1-100 letters, digits or -_. , got ${JSON.stringify(prefix)}`);
  }
  const seen = new Map<string, string>();
  return p.stages.map((stage) => {
    if (stage.kind === 'batch') {
      throw new InvalidArgumentError(`Stage '${stage.name}': batch stages run in process; on a broker, use the transport's \`batch\` option instead`);
    }
    const queue = `${prefix}.${stage.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    const other = seen.get(queue);
    if (other !== undefined) throw new InvalidArgumentError(`Stages '${other}' and '${stage.name}' would share the queue ${queue}: rename one`);
    seen.set(queue, stage.name);
    return { stage: stage.name, queue };
  });
}

/**
 * Runs every stage of `p` as a broker worker in this process, each on its queue (see
 * `pipelineQueues`); start as many processes as you like. Each stage's outputs go to the next
 * stage's queue, keyed (the job's key for one output, `${key}/${i}` for several); the last
 * stage's go to `sink`. Delivery is at least once per stage; a keyed `sink` gives exactly-once output.
 *
 * @example
 * const workers = await runDistributed(p, 'redis://127.0.0.1:6379', { sink: (outputs, { key }) => db.upsert(key, outputs) });
 * // elsewhere: await enqueueSource(p, 'redis://127.0.0.1:6379');
 * process.once('SIGTERM', () => void workers.close());
 */
export async function runDistributed(p: PipelineLike, url: string, options: DistributedWorkerOptions = {}): Promise<DistributedWorkers> {
  const queues = pipelineQueues(p, options);
  if (options.sink !== undefined && typeof options.sink !== 'function') throw new InvalidArgumentError(`Expected \`sink\` to be a function, got ${String(options.sink)}`);
  const batched = (options.brokerOptions?.batch ?? 1) > 1;
  const opened = await Promise.allSettled(queues.map(({ queue }) => connectBroker(url, { ...options.brokerOptions, queue })));
  const brokers = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const started: (StageQueue & { readonly worker: Worker })[] = [];
  try {
    const failed = opened.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    for (let i = 0; i < queues.length; i++) {
      const next = brokers[i + 1]?.producer<unknown>();
      const sink: Sink | undefined = next ? (outputs, ctx) => forward(next, outputs, ctx.key, batched) : options.sink;
      const stage = queues[i]!.stage;
      const worker = await brokers[i]!.worker(p.stages[i]!, {
        sink,
        onEvent: options.onEvent && ((event) => options.onEvent!({ ...event, stage })),
        concurrency: options.concurrency,
        grace: options.grace,
      });
      started.push({ ...queues[i]!, worker });
    }
  } catch (error) {
    await stop(started, brokers);
    throw error;
  }
  let closing: Promise<void> | undefined;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  return {
    kind: brokers[0]!.kind,
    stages: started,
    stats: () => started.map(({ stage, queue, worker }) => ({ stage, queue, ...worker.stats() })),
    close: () => (closing ??= stop(started, brokers).finally(resolveClosed)),
    closed,
  };
}

/** A stage's outputs into the next queue, keyed; resolves once the broker has them all. */
async function forward(next: Producer<unknown>, outputs: unknown[], key: string, batched: boolean): Promise<void> {
  const sent = outputs.length === 1 ? [next.enqueue(outputs[0], { key })] : outputs.map((value, i) => next.enqueue(value, { key: `${key}/${i}` }));
  // A batching producer holds a partial batch until flushed; this job is not acknowledged before then.
  if (batched && sent.length > 0) await next.flush();
  await Promise.all(sent);
}

async function stop(workers: readonly { worker: Worker }[], brokers: readonly Broker[]): Promise<void> {
  try {
    // Upstream first: while a stage finishes its jobs in flight, the stage after it still consumes,
    // so an enqueue waiting for room in that queue gets it.
    for (const { worker } of workers) await worker.close();
  } finally {
    await Promise.all(brokers.map((b) => b.close().catch(() => {})));
  }
}

/**
 * Enqueues `p`'s source into its first stage's queue, keyed (by default each item's index in the
 * source: enqueueing the same source again gives the same keys); resolves with the count. Waits
 * while the queue is past `maxQueued`.
 */
export async function enqueueSource(p: PipelineLike, url: string, options: EnqueueSourceOptions = {}): Promise<number> {
  const [first] = pipelineQueues(p, options);
  const key = options.key ?? ((_item: unknown, index: number) => String(index));
  const broker = await connectBroker(url, { ...options.brokerOptions, queue: first!.queue });
  try {
    return await broker.producer<unknown>().enqueueAll(p.source, { key, signal: options.signal });
  } finally {
    await broker.close();
  }
}

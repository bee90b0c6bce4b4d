// The in-process pipeline: a source, stages joined by bounded channels, an end. This file is the
// builder and the public types; a run lives in run.ts, a stage's workers in stage-run.ts.
import { Readable } from 'node:stream';
// Imports name files, not index.ts: a pipeline process loads only what it uses.
import type { Clock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { Channel } from './channel.ts';
import { type Env, type Next, Run } from './run.ts';
import type { Source } from './source.ts';
import { type BatchOptions, type Stage, type StageFn, type StageOptions, defineStage } from './stage.ts';
import { MemoryPipelineStore, type PipelineStore } from './store.ts';

export { type ChunkedSource, type Source, chunked } from './source.ts';

/** Options of `pipeline()`: its name, its store and how often it saves its checkpoint. */
export interface PipelineOptions {
  /** Names the pipeline in metrics and in its store. @default 'pipeline' */
  name?: string | undefined;
  /** Where checkpoints, dead letters and keyed rows live. @default an in-memory store */
  store?: PipelineStore | undefined;
  /** Durable mode: track source positions and save the low-water mark. @default true when `store` is given */
  durable?: boolean | undefined;
  /** Save the checkpoint after this many more items are done… @default 1000 */
  checkpointItems?: number | undefined;
  /** …or this many ms after the last save, whichever comes first. @default 1000 */
  checkpointInterval?: number | undefined;
  /** Per-stage metrics go here (`spate_pipeline_*`, labels `pipeline`, `stage`). @default none */
  metrics?: MetricsRegistry | undefined;
  /** @default the default clock */
  clock?: Clock | undefined;
}

/** How a run stops (now, or by draining), starts over, and reports progress. */
export interface RunOptions {
  /** Stop now: in-flight calls are aborted and `run` rejects with the reason (after saving the checkpoint). */
  signal?: AbortSignal | undefined;
  /** Drain: read no more of the source, finish what is in flight, resolve with `status: 'drained'`. */
  drain?: AbortSignal | undefined;
  /** Start over: forget the saved checkpoint, dead letters and rows. @default false */
  fresh?: boolean | undefined;
  /** Called about every `interval` ms with `stats()` (the CLI's progress). */
  onProgress?: ((stats: PipelineStats) => void) | undefined;
  /** How often `onProgress` is called, in ms. @default 1000 */
  progressInterval?: number | undefined;
}

/** A snapshot of one stage: items in and out, queued and in flight, workers, retries, dead letters, latency (ms). */
export interface StageStats {
  readonly name: string;
  readonly kind: string;
  readonly in: number;
  readonly out: number;
  readonly queued: number;
  readonly inFlight: number;
  readonly workers: number;
  readonly retries: number;
  readonly deadLetters: number;
  readonly latency: { readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number };
}

/** A snapshot of a run (`stats()`, `onProgress`); `elapsed` is in ms. */
export interface PipelineStats {
  readonly name: string;
  readonly status: 'idle' | 'running' | 'done' | 'drained' | 'failed' | 'stopped';
  /** Source items read (skipped ones on resume included). */
  readonly read: number;
  /** Durable mode: the low-water mark (every source position below it is done). */
  readonly done: number;
  /** Durable mode: the last saved checkpoint. */
  readonly checkpoint: number;
  readonly deadLetters: number;
  readonly elapsed: number;
  readonly stages: readonly StageStats[];
}

/** The stats of a run that ended well: it read its whole source, or was drained. */
export interface RunResult extends PipelineStats {
  readonly status: 'done' | 'drained';
}

/** The end of a pipeline that takes each output in turn (`into`): a file, a stream, a table. */
export interface Target<T> {
  /**
   * Takes one output; the next waits until a returned promise resolves, and a rejection fails the
   * run. `key` is the output's source position(s) in durable mode (`'3'`, or `'3,4,5'` for a batch), else undefined.
   */
  write(value: T, key: string | undefined): void | Promise<void>;
  /** All went well: make the output whole (a file's rename). */
  close(): Promise<void>;
  /** It did not: leave no partial output. */
  abort(reason: unknown): Promise<void>;
}

/**
 * A pipeline over `source`. Stages are added with `map`, `filter`, `flatMap`, `batch`, `tap`,
 * `sink`; each call returns a new Pipeline (the old one is unchanged). Run it with `run()`,
 * `into(target)`, or read its outputs with `for await`, `toReadable()` or `toWeb()`.
 *
 * @example
 * const result = await pipeline(lines('in.txt'))
 *   .map((line) => JSON.parse(line))
 *   .map(({ url }, { signal }) => session.get(url, { signal }).then((r) => r.text()), { concurrency: 16, retry: 3 })
 *   .batch({ size: 100, maxWait: 500 })
 *   .sink((rows) => db.insert(rows))
 *   .run();
 */
export function pipeline<T>(source: Source<T>, options: PipelineOptions = {}): Pipeline<T> {
  return new Pipeline<T>(source, [], options);
}

/**
 * A source and its stages, built by `pipeline()`: an immutable description (every builder method
 * returns a new one) that runs each time `run`, `into` or a reader starts it.
 */
export class Pipeline<T> implements AsyncIterable<T> {
  readonly source: Source<unknown>;
  readonly stages: readonly Stage[];
  readonly options: PipelineOptions;
  #run: Run | undefined;

  constructor(source: Source<unknown>, stages: readonly Stage[], options: PipelineOptions) {
    this.source = source;
    this.stages = stages;
    this.options = options;
  }

  get name(): string {
    return this.options.name ?? 'pipeline';
  }

  /** The same stages with some options replaced (the CLI's `--state` gives it a store this way). */
  with(options: PipelineOptions): Pipeline<T> {
    return new Pipeline<T>(this.source, this.stages, { ...this.options, ...options });
  }

  #add<O>(stage: Stage): Pipeline<O> {
    if (this.stages.some((s) => s.name === stage.name)) throw new InvalidArgumentError(`two stages are named '${stage.name}'`);
    if (this.stages.at(-1)?.kind === 'sink') throw new InvalidArgumentError(`nothing can follow the sink '${this.stages.at(-1)!.name}'`);
    return new Pipeline<O>(this.source, [...this.stages, stage], this.options);
  }

  /** `fn` on every item; its value goes on. */
  map<R>(fn: StageFn<T, R>, options?: StageOptions): Pipeline<Awaited<R>> {
    return this.#add(defineStage('map', fn, options, this.stages.length));
  }

  /** Keeps the items for which `fn` is truthy. */
  filter<S extends T = T>(fn: StageFn<T, unknown>, options?: StageOptions): Pipeline<S> {
    return this.#add(defineStage('filter', fn, options, this.stages.length));
  }

  /** `fn` returns an iterable (or async iterable) per item; each of its values goes on. */
  flatMap<R>(fn: StageFn<T, Iterable<R> | AsyncIterable<R>>, options?: StageOptions): Pipeline<R> {
    return this.#add(defineStage('flatMap', fn, options, this.stages.length));
  }

  /** Groups items into arrays of `size` (fewer at the end, or after `maxWait` ms); `fn`, if given, runs on each. */
  batch(options: BatchOptions): Pipeline<T[]>;
  batch<R>(options: BatchOptions, fn: StageFn<T[], R>): Pipeline<Awaited<R>>;
  batch<R>(options: BatchOptions, fn?: StageFn<T[], R>): Pipeline<T[]> | Pipeline<Awaited<R>> {
    return this.#add<T[]>(defineStage('batch', fn, options, this.stages.length));
  }

  /** Calls `fn` on every item and passes the item on unchanged. */
  tap(fn: StageFn<T, unknown>, options?: StageOptions): Pipeline<T> {
    return this.#add(defineStage('tap', fn, options, this.stages.length));
  }

  /** The last stage: `fn` consumes every item. */
  sink(fn: StageFn<T, unknown>, options?: StageOptions): Pipeline<never> {
    return this.#add(defineStage('sink', fn, options, this.stages.length));
  }

  /** Runs to the end, dropping the last stage's outputs. */
  run(options: RunOptions = {}): Promise<RunResult> {
    return this.#start(options, undefined).promise;
  }

  /**
   * Runs, writing every output to `target` one at a time; when the run is done the target is
   * closed (a file renamed into place); on failure or a drain it is aborted (nothing partial left). `key` names an output
   * by its source position(s) in durable mode, for exactly-once keyed targets.
   */
  async into(target: Target<T>, options: RunOptions = {}): Promise<RunResult> {
    const run = this.#start(options, target as Target<unknown>);
    try {
      const result = await run.promise;
      if (result.status === 'drained') await target.abort(new Error('the run was drained before its end'));
      else await target.close();
      return result;
    } catch (error) {
      await target.abort(error).catch(() => {});
      throw error;
    }
  }

  /** Reads the outputs; leaving the loop early stops the pipeline. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const out = new Channel<Env>(Math.max(16, this.stages.at(-1)?.options.buffer ?? 16));
    const stop = new AbortController();
    const run = this.#start({ signal: stop.signal }, out);
    let finished = false;
    run.promise.then(() => { finished = true; out.close(); }, (error: unknown) => { finished = true; out.abort(error); });
    try {
      for (;;) {
        const env = out.take();
        if (env !== undefined) {
          run.release(env.o);
          yield env.v as T;
          continue;
        }
        if (out.done) break;
        await out.readable();
      }
      await run.promise;
    } finally {
      if (!finished) {
        stop.abort(new Error('the reader left early'));
        await run.promise.catch(() => {});
      }
    }
  }

  /** The outputs as a Node Readable in object mode (for `stream.pipeline`). */
  toReadable(): Readable {
    return Readable.from(this, { objectMode: true });
  }

  /** The outputs as a web ReadableStream. */
  toWeb(): ReadableStream<T> {
    const it = this[Symbol.asyncIterator]();
    return new ReadableStream<T>({
      async pull(controller) {
        const r = await it.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel() {
        await it.return?.();
      },
    }, { highWaterMark: 0 });
  }

  /** What the current (or last) run is doing. */
  stats(): PipelineStats {
    return this.#run?.stats() ?? { name: this.name, status: 'idle', read: 0, done: 0, checkpoint: 0, deadLetters: 0, elapsed: 0, stages: [] };
  }

  /** The store dead letters go to (the in-memory one unless `store` was given). */
  get store(): PipelineStore {
    return this.#store ??= this.options.store ?? new MemoryPipelineStore();
  }
  #store: PipelineStore | undefined;

  /**
   * Runs dead letters again through their stage and the stages after it. Those that pass leave
   * the store; those that fail again are stored anew.
   */
  async replay(letters: readonly { id: number; item: unknown; stage: string; key?: string | undefined }[], options: RunOptions = {}): Promise<{ replayed: number; failed: number }> {
    let replayed = 0, failed = 0;
    for (const letter of letters) {
      const at = this.stages.findIndex((s) => s.name === letter.stage);
      if (at < 0) throw new InvalidArgumentError(`no stage is named '${letter.stage}' (dead letter ${letter.id})`);
      await this.store.removeDeadLetters(this.name, [letter.id]);
      const sub = new Pipeline<unknown>([letter.item], this.stages.slice(at), { ...this.options, store: this.store, durable: false });
      const result = await sub.run(options);
      if (result.deadLetters > 0) failed++;
      else replayed++;
    }
    return { replayed, failed };
  }

  #start(options: RunOptions, end: Next | Target<unknown> | undefined): Run {
    if (this.stages.length === 0) throw new InvalidArgumentError('a pipeline needs at least one stage');
    const run = new Run(this, this.store, options, end);
    this.#run = run;
    return run;
  }
}

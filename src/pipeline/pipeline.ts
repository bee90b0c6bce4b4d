// The in-process pipeline: a source, stages joined by bounded channels, an end.
//
// Design: every stage owns a Channel (its input buffer) and a set of worker loops that take from
// it, call `invoke` (or, with no timeout, retry or rate limit, the function directly, so a
// synchronous step costs no promise) and offer the outputs to the next channel, waiting when it is
// full. That wait is the backpressure: the source is read only as fast as the slowest stage frees
// room, and memory is bounded by the buffers whatever the input size.
//
// Durable mode tracks every source position: an item's descendants (after flatMap, inside a
// batch) hold a reference to it, and the position is done when the last reference goes (finished,
// filtered out, sunk or dead-lettered). The low-water mark — every position below it done — is the
// checkpoint; a resume skips that many source items. Without a store nothing is tracked.
import { Readable } from 'node:stream';
// Imports name files, not index.ts: a pipeline process loads only what it uses.
import { type Clock, getClock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { RateLimiter } from '../core/rate-limiter.ts';
import { Histogram } from '../observe/histogram.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { Autoscaler } from './autoscaler.ts';
import { Channel } from './channel.ts';
import { deadLetter } from './dead-letter.ts';
import { invoke } from './invoke.ts';
import { type BatchOptions, type Stage, type StageContext, type StageFn, type StageOptions, defineStage } from './stage.ts';
import { MemoryPipelineStore, type PipelineStore } from './store.ts';

/** What a pipeline can read: arrays and other iterables, async iterables (Node Readable and web ReadableStream are). */
export type Source<T> = Iterable<T> | AsyncIterable<T>;

/** A source that hands out items in arrays, to skip a promise per item (see `lines()`). */
export const chunked: unique symbol = Symbol('spate.pipeline.chunked');
export interface ChunkedSource<T> extends AsyncIterable<T> {
  [chunked](): AsyncIterable<T[]>;
}

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

export interface RunOptions {
  /** Stop now: in-flight calls are aborted and `run` rejects with the reason (after saving the checkpoint). */
  signal?: AbortSignal | undefined;
  /** Drain: read no more of the source, finish what is in flight, resolve with `status: 'drained'`. */
  drain?: AbortSignal | undefined;
  /** Start over: forget the saved checkpoint, dead letters and rows. @default false */
  fresh?: boolean | undefined;
  /** Called about every `interval` ms with `stats()` (the CLI's progress). */
  onProgress?: ((stats: PipelineStats) => void) | undefined;
  /** @default 1000 */
  progressInterval?: number | undefined;
}

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

export interface RunResult extends PipelineStats {
  readonly status: 'done' | 'drained';
}

/** The end of a pipeline that takes each output in turn (`into`): a file, a stream, a table. */
export interface Target<T> {
  write(value: T, key: string | undefined): void | Promise<void>;
  /** All went well: make the output whole (a file's rename). */
  close(): Promise<void>;
  /** It did not: leave no partial output. */
  abort(reason: unknown): Promise<void>;
}

/** The key of an output in durable mode: its source position(s). */
interface Origin {
  pos: number;
  refs: number;
}
interface Env {
  v: unknown;
  o: Origin | Origin[] | null;
}
interface Next {
  offer(e: Env): boolean;
  push(e: Env): Promise<void>;
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

class StageRun {
  readonly stage: Stage;
  readonly input: Channel<Env>;
  readonly #batches: Channel<Env> | undefined;
  next!: Next;
  readonly run: Run;
  readonly limiter: RateLimiter | undefined;
  readonly fast: boolean;
  readonly latency = new Histogram();
  readonly metricLatency: Histogram | undefined;
  readonly autoscaler: Autoscaler | undefined;
  target: number;
  workers = 0;
  inFlight = 0;
  in = 0;
  out = 0;
  retries = 0;
  deadLetters = 0;
  #busy = 0;
  #async: boolean;
  #count = 0;
  #lastChange = 0;
  #completedMark = 0;
  #finished = false;
  #done!: () => void;
  readonly finished: Promise<void>;
  // ordered mode
  #taken = 0;
  #emitted = 0;
  readonly #results = new Map<number, Env | Env[] | null>();
  #flushing = false;
  #window: Channel<number> | undefined;

  constructor(stage: Stage, run: Run) {
    this.stage = stage;
    this.run = run;
    const s = stage.options;
    this.input = new Channel<Env>(s.buffer);
    this.#batches = stage.kind === 'batch' ? new Channel<Env>(s.max) : undefined;
    this.limiter = s.rateLimit && new RateLimiter({ ...s.rateLimit, clock: run.clock });
    this.fast = s.retries === 0 && s.timeout === Infinity && !this.limiter && stage.kind !== 'flatMap' && stage.kind !== 'batch';
    this.target = s.initial;
    this.autoscaler = s.autoscale ? new Autoscaler(s) : undefined;
    if (s.ordered) this.#window = new Channel<number>(1);
    this.finished = new Promise((resolve) => { this.#done = resolve; });
    this.#async = !this.fast;
    // one slot keeps input order by itself, so an ordered stage of one worker needs no reorder window
    this.#slots = this.fast && (!s.ordered || s.max === 1);
    this.#ctx = { signal: run.signal, attempt: 1, stage: stage.name };
    this.metricLatency = run.metrics?.histogram('spate_pipeline_latency_ms', { pipeline: run.name, stage: stage.name });
    this.#lastChange = run.clock.now();
  }

  abort(reason: unknown): void {
    this.input.abort(reason);
    this.#batches?.abort(reason);
    this.#window?.abort(reason);
  }

  /** Integrates in-flight × time, for the utilisation the autoscaler reads. */
  #account(now: number): void {
    this.#busy += this.inFlight * (now - this.#lastChange);
    this.#lastChange = now;
  }

  start(): void {
    if (this.#batches) this.#collect().catch((e: unknown) => this.run.fail(e));
    this.#scale();
  }

  // Slot mode: an unordered stage whose function is called directly (no timeout, retry or rate
  // limit) runs without worker loops. `#drive` starts calls while fewer than `target` are in
  // flight and settles each with a callback — no async-function resumption per item, which is
  // most of the cost of a cheap async step. Outputs a full next stage refuses wait in #held, and
  // while any wait no new call starts (so memory stays bounded by the buffers and `target`).
  readonly #slots: boolean;
  #driving = false;
  #again = false;
  #waitingInput = false;
  #pushing = false;
  readonly #held: Env[] = [];

  #drive(): void {
    if (this.#driving) {
      this.#again = true;
      return;
    }
    this.#driving = true;
    try {
      do {
        this.#again = false;
        if (this.#pushing || !this.#release()) break;
        const from = this.input;
        while (this.inFlight < this.target && this.#held.length === 0) {
          const env = from.take();
          if (env === undefined) break;
          this.#call(env);
        }
        if (this.#held.length > 0) {
          this.#again = true;
          continue;
        }
        if (this.inFlight < this.target && from.length === 0 && !from.done && !this.#waitingInput) {
          this.#waitingInput = true;
          from.readable().then(() => { this.#waitingInput = false; this.#drive(); }, () => { this.#waitingInput = false; this.#slotFinish(); });
        }
      } while (this.#again);
    } catch (error) {
      this.run.fail(error);
    } finally {
      this.#driving = false;
    }
    this.#slotFinish();
  }

  #call(env: Env): void {
    this.in++;
    const run = this.run;
    // the autoscaler needs every call's time; otherwise one in 8 (async) or 64 (sync) is plenty
    const timed = this.autoscaler !== undefined || (++this.#count & (this.#async ? 7 : 63)) === 0;
    const t0 = timed ? run.clock.now() : 0;
    if (timed) this.#account(t0);
    this.inFlight++;
    let value: unknown;
    try {
      value = (this.stage.fn as StageFn<unknown, unknown>)(env.v, this.#ctx);
    } catch (error) {
      this.#settleFailure(env, error, timed, t0);
      return;
    }
    if (value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function') {
      this.#async = true;
      (value as PromiseLike<unknown>).then(
        (v) => { this.#settle(env, v, timed, t0); this.#drive(); },
        (error: unknown) => { this.#settleFailure(env, error, timed, t0); },
      );
      return;
    }
    this.#settle(env, value, timed, t0);
  }

  #timing(timed: boolean, t0: number): void {
    if (timed) {
      const t1 = this.run.clock.now();
      this.#account(t1);
      this.inFlight--;
      this.latency.record(t1 - t0);
      this.metricLatency?.record(t1 - t0);
    } else {
      this.inFlight--;
    }
  }

  #settle(env: Env, value: unknown, timed: boolean, t0: number): void {
    this.#timing(timed, t0);
    const out = this.#fastOutputs(env, value);
    if (out === null) return;
    this.out++;
    try {
      if (this.#pushing || this.#held.length > 0 || !this.next.offer(out)) this.#held.push(out);
    } catch (error) {
      this.run.fail(error); // the next stage was aborted
    }
  }

  #settleFailure(env: Env, error: unknown, timed: boolean, t0: number): void {
    if (this.run.signal.aborted) {
      this.#timing(timed, t0);
      this.#slotFinish();
      return;
    }
    this.inFlight++; // the dead letter is being stored: still in flight
    this.#timing(timed, t0);
    this.#failed(env, error, 1).then(
      () => { this.inFlight--; this.#drive(); },
      (e: unknown) => { this.inFlight--; this.run.fail(e); this.#slotFinish(); },
    );
  }

  /** Offers the held outputs; false (and one push waiting for room) while the next stage is full. */
  #release(): boolean {
    while (this.#held.length > 0) {
      if (!this.next.offer(this.#held[0]!)) {
        this.#pushing = true;
        this.next.push(this.#held.shift()!).then(
          () => { this.#pushing = false; this.#drive(); },
          (e: unknown) => { this.#pushing = false; this.#held.length = 0; this.run.fail(e); this.#slotFinish(); },
        );
        return false;
      }
      this.#held.shift();
    }
    return true;
  }

  #slotFinish(): void {
    if (this.#finished || this.#driving || this.#pushing || this.inFlight > 0 || this.#held.length > 0 || !this.input.done) return;
    this.#finished = true;
    this.#done();
  }

  /** Brings the worker count to `target` (new loops start; extra ones leave after their item). */
  #scale(): void {
    if (this.#slots) {
      this.workers = this.target;
      this.#drive();
      return;
    }
    while (this.workers < this.target && !this.#finished) {
      this.workers++;
      this.#work().catch((e: unknown) => this.run.fail(e));
    }
    if (this.workers > this.target) (this.#batches ?? this.input).wake();
  }

  setTarget(n: number): void {
    this.target = n;
    this.#scale();
  }

  /** Called by the run's controller every `interval` ms. */
  tick(now: number, interval: number): void {
    if (!this.autoscaler) return;
    this.#account(now);
    const busy = this.#busy;
    this.#busy = 0;
    const completed = this.in - this.inFlight - this.#completedMark;
    this.#completedMark += completed;
    const utilisation = Math.min(1, busy / (interval * Math.max(1, this.workers)));
    const fill = this.input.length / this.input.capacity;
    const n = this.autoscaler.observe({ fill, utilisation, completed }, now);
    if (n !== this.target) this.setTarget(n);
  }

  async #collect(): Promise<void> {
    const { size, maxWait } = this.stage.options;
    const batches = this.#batches!;
    let items: unknown[] = [];
    let origins: Origin[] = [];
    let timer: { clear(): void } | undefined;
    let due = false;
    const flush = async () => {
      timer?.clear();
      timer = undefined;
      due = false;
      const env: Env = { v: items, o: this.run.tracking ? origins : null };
      items = [];
      origins = [];
      await batches.push(env);
    };
    for (;;) {
      const env = this.input.take();
      if (env !== undefined) {
        items.push(env.v);
        if (env.o !== null) pushOrigins(origins, env.o);
        if (items.length === 1 && maxWait !== Infinity) {
          timer = this.run.clock.setTimer(maxWait, () => { due = true; this.input.wake(); });
        }
        if (items.length >= size) await flush();
        continue;
      }
      if (this.input.done) break;
      if (due) {
        await flush();
        continue;
      }
      await this.input.readable();
    }
    if (items.length > 0) await flush();
    timer?.clear();
    batches.close();
  }

  async #work(): Promise<void> {
    const from = this.#batches ?? this.input;
    const ordered = this.stage.options.ordered;
    const run = this.run;
    const fn = this.stage.fn as StageFn<unknown, unknown> | undefined;
    const ctx = this.#ctx;
    const next = this.next;
    try {
      for (;;) {
        if (this.workers > this.target) break;
        if (ordered && this.#taken - this.#emitted >= this.input.capacity) {
          await this.#window!.readable();
          this.#window!.take();
          continue;
        }
        const env = from.take();
        if (env === undefined) {
          if (from.done) break;
          await from.readable();
          continue;
        }
        if (from === this.input) this.in++;
        else this.in += (env.v as unknown[]).length;
        const seq = this.#taken++;
        // a synchronous function is timed on one item in 64 (reading the clock costs more than it does)
        const timed = this.#async || (++this.#count & 63) === 0;
        const t0 = timed ? run.clock.now() : 0;
        if (timed) this.#account(t0);
        this.inFlight++;
        let outs: Env | Env[] | null;
        if (this.fast) {
          let value: unknown;
          let failure: { error: unknown } | undefined;
          try {
            value = fn!(env.v, ctx);
            if (value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function') {
              this.#async = true;
              value = await value;
            }
          } catch (error) {
            failure = { error };
          }
          outs = failure ? await this.#fastFailed(env, failure.error) : this.#fastOutputs(env, value);
        } else {
          const outcome = await invoke(this.stage, env.v, { signal: run.signal, clock: run.clock, limiter: this.limiter, onRetry: () => { this.retries++; } });
          if (outcome.ok) {
            outs = this.#wrap(env, outcome.outputs);
          } else {
            outs = null;
            await this.#failed(env, outcome.error, outcome.attempts);
          }
        }
        if (timed) {
          const t1 = run.clock.now();
          this.#account(t1);
          this.inFlight--;
          this.latency.record(t1 - t0);
          this.metricLatency?.record(t1 - t0);
        } else {
          this.inFlight--;
        }
        if (ordered) {
          this.#results.set(seq, outs);
          await this.#flushOrdered();
        } else if (outs !== null) {
          if (!Array.isArray(outs)) {
            this.out++;
            if (!next.offer(outs)) await next.push(outs);
          } else {
            let i = 0;
            while (i < outs.length && next.offer(outs[i]!)) i++;
            this.out += i;
            if (i < outs.length) await this.#emit(outs, i);
          }
        }
      }
    } finally {
      this.workers--;
      this.#maybeFinish();
    }
  }

  readonly #ctx: StageContext;

  async #fastFailed(env: Env, error: unknown): Promise<null> {
    if (this.run.signal.aborted) throw this.run.signal.reason;
    await this.#failed(env, error, 1);
    return null;
  }

  #fastOutputs(env: Env, value: unknown): Env | null {
    switch (this.stage.kind) {
      case 'map':
        env.v = value; // the worker owns `env` once taken: reuse it rather than allocate per item
        return env;
      case 'filter':
        if (value) return env;
        this.run.release(env.o);
        return null;
      case 'tap':
        return env;
      default:
        this.run.release(env.o);
        return null;
    }
  }

  #wrap(env: Env, outputs: unknown[]): Env[] | null {
    if (outputs.length === 0) {
      this.run.release(env.o);
      return null;
    }
    if (env.o !== null && outputs.length > 1) addRefs(env.o, outputs.length - 1);
    return outputs.map((v) => ({ v, o: env.o }));
  }

  async #failed(env: Env, error: unknown, attempts: number): Promise<void> {
    if (this.run.signal.aborted) throw this.run.signal.reason;
    if (this.stage.options.onError === 'fail-fast') {
      this.run.fail(error);
      throw error;
    }
    this.deadLetters++;
    const key = env.o === null ? undefined : Array.isArray(env.o) ? env.o.map((o) => o.pos).join(',') : String(env.o.pos);
    await this.run.store.addDeadLetter(this.run.name, deadLetter(env.v, this.stage.name, error, attempts, Date.now(), key));
    this.run.release(env.o);
  }

  async #emit(outs: Env[], from = 0): Promise<void> {
    const next = this.next;
    for (let i = from; i < outs.length; i++) {
      const e = outs[i]!;
      this.out++;
      if (!next.offer(e)) await next.push(e);
    }
  }

  async #flushOrdered(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#results.has(this.#emitted)) {
        const outs = this.#results.get(this.#emitted)!;
        this.#results.delete(this.#emitted);
        this.#emitted++;
        if (outs !== null) await this.#emit(Array.isArray(outs) ? outs : [outs]);
        this.#window!.offer(0);
        this.#window!.wake();
      }
    } finally {
      this.#flushing = false;
    }
  }

  #maybeFinish(): void {
    if (this.#finished || this.workers > 0) return;
    const from = this.#batches ?? this.input;
    if (!from.done) {
      // the last worker left on a scale-down race: keep one alive
      if (this.target > 0) this.#scale();
      return;
    }
    this.#finished = true;
    this.#done();
  }

  stats(): StageStats {
    const h = this.latency;
    return {
      name: this.stage.name, kind: this.stage.kind, in: this.in, out: this.out,
      queued: this.input.length, inFlight: this.inFlight, workers: this.workers,
      retries: this.retries, deadLetters: this.deadLetters,
      latency: { mean: h.mean, p50: h.percentile(50), p99: h.percentile(99), max: h.max },
    };
  }
}

function pushOrigins(into: Origin[], o: Origin | Origin[]): void {
  if (Array.isArray(o)) for (const x of o) into.push(x);
  else into.push(o);
}

function addRefs(o: Origin | Origin[], n: number): void {
  if (Array.isArray(o)) for (const x of o) x.refs += n;
  else o.refs += n;
}

function keyOf(o: Origin | Origin[] | null): string | undefined {
  if (o === null) return undefined;
  return Array.isArray(o) ? o.map((x) => x.pos).join(',') : String(o.pos);
}

class Run {
  readonly name: string;
  readonly clock: Clock;
  readonly store: PipelineStore;
  readonly tracking: boolean;
  readonly stages: StageRun[];
  readonly promise: Promise<RunResult>;
  readonly #controller = new AbortController();
  readonly #options: PipelineOptions;
  readonly #run: RunOptions;
  readonly metrics: MetricsRegistry | undefined;
  #status: PipelineStats['status'] = 'running';
  #failure: { error: unknown } | undefined;
  #read = 0;
  #skip = 0;
  // low-water mark: every position below #low is done; #doneAbove holds the done ones past it
  #low = 0;
  readonly #doneAbove = new Set<number>();
  #saved = 0;
  #saving: Promise<void> | undefined;
  #lastSave = 0;
  #t0: number;
  #deadBefore = 0;
  #published = new Map<string, number>();

  constructor(p: Pipeline<unknown>, store: PipelineStore, run: RunOptions, end: Next | Target<unknown> | undefined) {
    this.name = p.name;
    this.#options = p.options;
    this.#run = run;
    this.clock = p.options.clock ?? getClock();
    this.store = store;
    this.metrics = p.options.metrics;
    this.tracking = p.options.durable ?? p.options.store !== undefined;
    this.stages = p.stages.map((s) => new StageRun(s, this));
    for (let i = 0; i < this.stages.length - 1; i++) this.stages[i]!.next = this.stages[i + 1]!.input;
    this.stages.at(-1)!.next = this.#end(end);
    this.#t0 = this.clock.now();
    this.promise = this.#main(p.source);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  #end(end: Next | Target<unknown> | undefined): Next {
    if (end instanceof Channel) {
      const out = end;
      return { offer: (e) => out.offer(e), push: (e) => out.push(e) };
    }
    if (end === undefined) {
      return { offer: (e) => { this.release(e.o); return true; }, push: async (e) => { this.release(e.o); } };
    }
    // a Target: written one at a time, in arrival order; a write that returns a promise holds the next
    const target = end as Target<unknown>;
    let busy: Promise<void> | undefined;
    const offer = (e: Env): boolean => {
      if (busy) return false;
      const r = target.write(e.v, keyOf(e.o));
      if (r === undefined) {
        this.release(e.o);
      } else {
        busy = r.then(
          () => { busy = undefined; this.release(e.o); },
          (error: unknown) => { busy = undefined; this.fail(error); },
        );
      }
      return true;
    };
    this.#drainTarget = async () => { while (busy) await busy; };
    return {
      offer,
      push: async (e) => {
        while (!offer(e)) {
          if (this.#failure) throw this.#failure.error;
          await busy;
        }
      },
    };
  }
  #drainTarget: (() => Promise<void>) | undefined;

  /** Fail-fast: the first failure stops everything; `run` rejects with it. */
  fail(error: unknown): void {
    if (this.#failure) return;
    this.#failure = { error };
    this.#controller.abort(error);
    for (const s of this.stages) s.abort(error);
  }

  release(o: Origin | Origin[] | null): void {
    if (o === null) return;
    if (Array.isArray(o)) {
      for (const x of o) if (--x.refs === 0) this.#complete(x.pos);
    } else if (--o.refs === 0) {
      this.#complete(o.pos);
    }
  }

  #complete(pos: number): void {
    if (pos !== this.#low) {
      this.#doneAbove.add(pos);
      return;
    }
    this.#low++;
    while (this.#doneAbove.delete(this.#low)) this.#low++;
    const every = this.#options.checkpointItems ?? 1000;
    if (this.#low - this.#saved >= every) this.#save();
  }

  #save(): void {
    if (this.#saving || this.#low === this.#saved) return;
    const position = this.#low;
    this.#lastSave = this.clock.now();
    this.#saving = this.store.setCheckpoint(this.name, position).then(
      () => { this.#saved = Math.max(this.#saved, position); this.#saving = undefined; },
      (error: unknown) => { this.#saving = undefined; this.fail(error); },
    );
  }

  async #flushCheckpoint(): Promise<void> {
    if (!this.tracking) return;
    await this.#saving;
    if (this.#low !== this.#saved) {
      await this.store.setCheckpoint(this.name, this.#low);
      this.#saved = this.#low;
    }
  }

  async #main(source: Source<unknown>): Promise<RunResult> {
    const { signal, drain, fresh } = this.#run;
    if (fresh) await this.store.reset(this.name);
    if (this.tracking) {
      this.#skip = (await this.store.getCheckpoint(this.name)) ?? 0;
      this.#low = this.#saved = this.#skip;
    }
    this.#deadBefore = 0;
    const onAbort = () => this.fail(signal!.reason);
    if (signal?.aborted) throw signal.reason;
    signal?.addEventListener('abort', onAbort, { once: true });
    let stopRead = false;
    const onDrain = () => {
      stopRead = true;
      this.stages[0]!.input.wake();
    };
    if (drain?.aborted) stopRead = true;
    drain?.addEventListener('abort', onDrain, { once: true });
    const ticker = this.#ticker();
    for (const s of this.stages) s.start();
    try {
      await this.#pump(source, () => stopRead);
      await Promise.all(this.stages.map((s, i) => s.finished.then(() => {
        if (i < this.stages.length - 1) this.stages[i + 1]!.input.close();
      })));
      await this.#drainTarget?.();
      if (this.#failure) throw this.#failure.error;
      await this.#flushCheckpoint();
      this.#status = stopRead ? 'drained' : 'done';
      return this.stats() as RunResult;
    } catch (error) {
      const reason = this.#failure ? this.#failure.error : error;
      this.fail(reason);
      this.#status = signal?.aborted && reason === signal.reason ? 'stopped' : 'failed';
      await Promise.all(this.stages.map((s) => s.finished));
      await this.#flushCheckpoint().catch(() => {});
      throw reason;
    } finally {
      ticker.stop();
      signal?.removeEventListener('abort', onAbort);
      drain?.removeEventListener('abort', onDrain);
      this.#publish();
    }
  }

  async #pump(source: Source<unknown>, stopped: () => boolean): Promise<void> {
    const first = this.stages[0]!.input;
    const tracking = this.tracking;
    const skip = this.#skip;
    try {
      // true: taken; false: stop reading; a promise: wait for room (no promise while there is room)
      const offerOne = (v: unknown): boolean | Promise<boolean> => {
        if (stopped() || this.#failure) return false;
        const pos = this.#read++;
        if (pos < skip) return true;
        const env: Env = { v, o: tracking ? { pos, refs: 1 } : null };
        return first.offer(env) || first.push(env).then(() => true);
      };
      const take = async (v: unknown): Promise<boolean> => {
        const r = offerOne(v);
        return r === true || (r !== false && (await r));
      };
      if (typeof (source as ChunkedSource<unknown>)[chunked] === 'function') {
        outer: for await (const chunk of (source as ChunkedSource<unknown>)[chunked]()) {
          for (const v of chunk) {
            const r = offerOne(v);
            if (r === true) continue;
            if (r === false || !(await r)) break outer;
          }
        }
      } else if (Symbol.asyncIterator in source) {
        for await (const v of source) if (!(await take(v))) break;
      } else {
        for (const v of source) {
          const r = offerOne(v);
          if (r === true) continue;
          if (r === false || !(await r)) break;
        }
      }
    } catch (error) {
      if (!this.#failure) this.fail(error);
    } finally {
      first.close();
    }
  }

  #ticker(): { stop(): void } {
    const scaled = this.stages.filter((s) => s.autoscaler);
    const interval = Math.min(...scaled.map((s) => s.stage.options.interval), this.#run.progressInterval ?? 1000, this.#options.checkpointInterval ?? 1000);
    let timer: { clear(): void } | undefined;
    let stopped = false;
    let lastProgress = this.clock.now();
    const tick = () => {
      if (stopped) return;
      const now = this.clock.now();
      for (const s of scaled) s.tick(now, interval);
      if (this.tracking && now - this.#lastSave >= (this.#options.checkpointInterval ?? 1000)) this.#save();
      if (this.#run.onProgress && now - lastProgress >= (this.#run.progressInterval ?? 1000)) {
        lastProgress = now;
        this.#run.onProgress(this.stats());
      }
      this.#publish();
      timer = this.clock.setTimer(interval, tick);
    };
    timer = this.clock.setTimer(interval, tick);
    return { stop: () => { stopped = true; timer?.clear(); } };
  }

  #publish(): void {
    const registry = this.#options.metrics;
    if (!registry) return;
    for (const s of this.stages) {
      const labels = { pipeline: this.name, stage: s.stage.name };
      const delta = (metric: string, value: number) => {
        const key = `${metric}/${s.stage.name}`;
        const before = this.#published.get(key) ?? 0;
        if (value > before) registry.counter(metric, labels).inc(value - before);
        this.#published.set(key, value);
      };
      delta('spate_pipeline_items_in_total', s.in);
      delta('spate_pipeline_items_out_total', s.out);
      delta('spate_pipeline_retries_total', s.retries);
      delta('spate_pipeline_dead_letters_total', s.deadLetters);
      registry.gauge('spate_pipeline_queue_depth', labels).set(s.input.length);
      registry.gauge('spate_pipeline_in_flight', labels).set(s.inFlight);
      registry.gauge('spate_pipeline_workers', labels).set(s.workers);
    }
  }

  stats(): PipelineStats {
    const stages = this.stages.map((s) => s.stats());
    return {
      name: this.name,
      status: this.#status,
      read: this.#read,
      done: this.tracking ? this.#low : 0,
      checkpoint: this.#saved,
      deadLetters: stages.reduce((n, s) => n + s.deadLetters, this.#deadBefore),
      elapsed: this.clock.now() - this.#t0,
      stages,
    };
  }
}

// One run of a pipeline: the stages' runtimes joined by channels, the source pump, the end, the
// ticker (autoscaling, checkpoints, progress, metrics), fail-fast and stopping.
//
// Durable mode tracks every source position: an item's descendants (after flatMap, inside a
// batch) hold a reference to it, and the position is done when the last reference goes (finished,
// filtered out, sunk or dead-lettered). The low-water mark — every position below it done — is the
// checkpoint; a resume skips that many source items. Without a store nothing is tracked.
import { type Clock, getClock } from '../core/clock.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { Channel } from './channel.ts';
import type { Pipeline, PipelineOptions, PipelineStats, RunOptions, RunResult, Target } from './pipeline.ts';
import { type ChunkedSource, type Source, chunked } from './source.ts';
import { StageRun } from './stage-run.ts';
import type { PipelineStore } from './store.ts';

/** The key of an output in durable mode: its source position(s). */
export interface Origin {
  pos: number;
  refs: number;
}
export interface Env {
  v: unknown;
  o: Origin | Origin[] | null;
}
export interface Next {
  offer(e: Env): boolean;
  push(e: Env): Promise<void>;
}

function keyOf(o: Origin | Origin[] | null): string | undefined {
  if (o === null) return undefined;
  return Array.isArray(o) ? o.map((x) => x.pos).join(',') : String(o.pos);
}

export class Run {
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
      // The item's envelope for the first stage, or undefined to skip it (below the checkpoint) —
      // the caller offers it, and waits for room only when the first stage is full.
      const envelope = (v: unknown): Env | undefined => {
        const pos = this.#read++;
        if (pos < skip) return undefined;
        return { v, o: tracking ? { pos, refs: 1 } : null };
      };
      const stop = () => stopped() || this.#failure !== undefined;
      if (typeof (source as ChunkedSource<unknown>)[chunked] === 'function') {
        outer: for await (const chunk of (source as ChunkedSource<unknown>)[chunked]()) {
          for (const v of chunk) {
            if (stop()) break outer;
            const env = envelope(v);
            if (env !== undefined) while (!first.offer(env)) await first.writable();
          }
        }
      } else if (Symbol.asyncIterator in source) {
        for await (const v of source) {
          if (stop()) break;
          const env = envelope(v);
          if (env !== undefined) while (!first.offer(env)) await first.writable();
        }
      } else {
        for (const v of source) {
          if (stop()) break;
          const env = envelope(v);
          if (env !== undefined) while (!first.offer(env)) await first.writable();
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
      deadLetters: stages.reduce((n, s) => n + s.deadLetters, 0),
      elapsed: this.clock.now() - this.#t0,
      stages,
    };
  }
}

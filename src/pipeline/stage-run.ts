// A stage at run time: its input channel and the workers that drain it.
//
// Worker loops take an item, call `invoke` (timeout, retries, rate limit) or the function
// directly, and offer the outputs to the next channel, waiting when it is full — that wait is the
// backpressure. An unordered stage called directly runs in slot mode instead (see #drive): calls
// are started while fewer than `target` are in flight and settled by callback, with no
// async-function resumption per item. A batch stage has a collector in front of its workers.
import { RateLimiter } from '../core/rate-limiter.ts';
import { Histogram } from '../observe/histogram.ts';
import { Autoscaler } from './autoscaler.ts';
import { Channel } from './channel.ts';
import { deadLetter } from './dead-letter.ts';
import { invoke } from './invoke.ts';
import type { StageStats } from './pipeline.ts';
import type { Env, Next, Origin, Run } from './run.ts';
import type { Stage, StageContext, StageFn } from './stage.ts';

export class StageRun {
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
          from.readable().then(this.#onReadable, this.#onReadableFailed);
        }
      } while (this.#again);
    } catch (error) {
      this.run.fail(error);
    } finally {
      this.#driving = false;
    }
    this.#slotFinish();
  }

  readonly #onReadable = (): void => {
    this.#waitingInput = false;
    this.#drive();
  };

  readonly #onReadableFailed = (): void => {
    this.#waitingInput = false;
    this.#slotFinish();
  };

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
      if ((value as object).constructor === Promise) {
        // a native promise settles once: its call can borrow a slot's handlers (no closures per item)
        const slot = this.#free.pop() ?? this.#slot();
        slot.env = env;
        slot.timed = timed;
        slot.t0 = t0;
        (value as Promise<unknown>).then(slot.ok, slot.err);
      } else {
        (value as PromiseLike<unknown>).then(
          (v) => { this.#settle(env, v, timed, t0); this.#drive(); },
          (error: unknown) => { this.#settleFailure(env, error, timed, t0); },
        );
      }
      return;
    }
    this.#settle(env, value, timed, t0);
  }

  // Free call slots; at most `max` exist, one per call in flight.
  readonly #free: Slot[] = [];

  #slot(): Slot {
    const slot: Slot = {
      env: null, timed: false, t0: 0,
      ok: (v: unknown) => {
        const { env, timed, t0 } = slot;
        slot.env = null;
        this.#free.push(slot);
        this.#settle(env!, v, timed, t0);
        this.#drive();
      },
      err: (error: unknown) => {
        const { env, timed, t0 } = slot;
        slot.env = null;
        this.#free.push(slot);
        this.#settleFailure(env!, error, timed, t0);
      },
    };
    return slot;
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
        this.#timing(timed, t0);
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

/** One call in flight in slot mode: its item, its timing, and handlers made once per slot. */
interface Slot {
  env: Env | null;
  timed: boolean;
  t0: number;
  readonly ok: (value: unknown) => void;
  readonly err: (error: unknown) => void;
}

function pushOrigins(into: Origin[], o: Origin | Origin[]): void {
  if (Array.isArray(o)) for (const x of o) into.push(x);
  else into.push(o);
}

function addRefs(o: Origin | Origin[], n: number): void {
  if (Array.isArray(o)) for (const x of o) x.refs += n;
  else o.refs += n;
}

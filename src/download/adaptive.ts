// Adaptive concurrency: a hill climber on measured total throughput, with a multiplicative
// back-off on errors.
//
// Every `intervalMs` (500 ms) the controller reads the bytes, completions and errors of the last
// interval and moves the limit:
//   1. errors: if more than `maxErrorRate` (10%) of the interval's finished transfers failed,
//      halve the limit (multiplicative decrease, like TCP on loss) and start measuring afresh.
//   2. slow start: from `initial`, double the limit while each doubling raises throughput by at
//      least 30%; the first doubling that does not ends slow start (and is undone if throughput
//      fell).
//   3. steady state: step by ±max(1, 10% of the limit). The sign follows the gradient of the last
//      move: throughput up by more than `tolerance` (5%) → the same way again; down by more →
//      the other way; flat after a move → down (extra concurrency bought nothing, or less did no
//      harm); flat after no move (held, or pinned at a bound) → up, to probe. So the limit
//      settles at the knee of the throughput curve (the smallest limit that reaches the plateau),
//      oscillating by a step, and follows the knee when it moves.
//   4. growth only counts while the limit is used: when fewer transfers are in flight than the
//      limit allows (the list ran dry, a host cap binds), the controller holds.
// aria2's N = 5 + 25·log10(Mbps) is open loop: it maps the speed seen to a connection count
// whether or not more connections help, and never notices a server that slows down under load.
// This rule measures the marginal gain of each change, so it stops where extra concurrency stops
// paying, backs off when the server degrades, and is bounded by [min, max].
import { type Clock, type Timer, getClock } from '../core/clock.ts';
import { checkInteger, checkNonNegative } from '../core/validate.ts';
import type { ResizableLimit } from './limit.ts';

/** What the controller reads each interval (counters since the previous read). */
export interface Sample {
  bytes: number;
  ok: number;
  errors: number;
  /** Transfers in flight now. */
  inFlight: number;
}

/** Options of `AdaptiveController` and `AdaptiveConcurrency`. */
export interface AdaptiveOptions {
  /** @default 1 */
  min?: number | undefined;
  /** @default 64 */
  max?: number | undefined;
  /** @default 0.05 */
  tolerance?: number | undefined;
  /** @default 0.1 */
  maxErrorRate?: number | undefined;
}

/**
 * The decision rule alone (no timers): feed it one sample per interval, get the next limit.
 *
 * @example
 * const c = new AdaptiveController(4, { max: 32 });
 * const next = c.update({ bytes: 5e6, ok: 5, errors: 0, inFlight: 4 }, 500);
 */
export class AdaptiveController {
  readonly #min: number;
  readonly #max: number;
  readonly #tolerance: number;
  readonly #maxErrorRate: number;
  #limit: number;
  #previousLimit: number;
  #previous: number | undefined;
  #slowStart = true;
  /** The sign of the last change of the limit (0: none). */
  #lastMove = 0;

  constructor(initial: number, options: AdaptiveOptions = {}) {
    this.#min = checkInteger('min', options.min ?? 1, 1);
    this.#max = checkInteger('max', options.max ?? 64, this.#min);
    this.#tolerance = checkNonNegative('tolerance', options.tolerance ?? 0.05);
    this.#maxErrorRate = checkNonNegative('maxErrorRate', options.maxErrorRate ?? 0.1);
    this.#limit = this.#clamp(checkInteger('initial', initial, 1));
    this.#previousLimit = this.#limit;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Takes one interval's counters and returns the new limit. */
  update(sample: Sample, intervalMs: number): number {
    const finished = sample.ok + sample.errors;
    if (sample.errors > 0 && sample.errors / finished > this.#maxErrorRate) {
      this.#slowStart = false;
      this.#previous = undefined;
      return this.#set(Math.floor(this.#limit / 2));
    }
    const throughput = sample.bytes / Math.max(1, intervalMs);
    const previous = this.#previous;
    this.#previous = throughput;
    const used = sample.inFlight >= this.#limit;
    if (previous === undefined) {
      // A baseline: in slow start, double at once and measure the doubling; otherwise hold.
      return this.#slowStart && used ? this.#set(this.#limit * 2) : this.#set(this.#limit);
    }
    const gain = previous > 0 ? (throughput - previous) / previous : throughput > 0 ? 1 : 0;
    if (this.#slowStart) {
      if (gain >= 0.3 && used && this.#limit < this.#max) return this.#set(this.#limit * 2);
      this.#slowStart = false;
      if (gain < -this.#tolerance) {
        this.#previous = undefined;
        return this.#set(this.#previousLimit);
      }
      return this.#set(this.#limit);
    }
    let direction: number;
    if (gain > this.#tolerance) direction = this.#lastMove === 0 ? 1 : this.#lastMove;
    else if (gain < -this.#tolerance) direction = this.#lastMove === 0 ? -1 : -this.#lastMove;
    // Flat: after a move, extra concurrency bought nothing (or less did no harm): go down. After
    // no move (held, or pinned at a bound), probe upwards.
    else direction = this.#lastMove === 0 ? 1 : -1;
    if (direction > 0 && !used) return this.#set(this.#limit);
    const step = Math.max(1, Math.round(this.#limit * 0.1));
    return this.#set(this.#limit + direction * step);
  }

  #set(limit: number): number {
    const next = this.#clamp(limit);
    this.#lastMove = Math.sign(next - this.#limit);
    this.#previousLimit = this.#limit;
    this.#limit = next;
    return next;
  }

  #clamp(n: number): number {
    return Math.min(this.#max, Math.max(this.#min, n));
  }
}

/**
 * Runs an `AdaptiveController` on a `ResizableLimit`: every `intervalMs` it reads `measure()`
 * and resizes the limit. `stop()` clears the timer.
 *
 * @example
 * const adaptive = new AdaptiveConcurrency(limit, () => counters.take(), { max: 32 });
 * adaptive.start(); … adaptive.stop();
 */
export class AdaptiveConcurrency {
  readonly #limit: ResizableLimit;
  readonly #measure: () => Sample;
  readonly #controller: AdaptiveController;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #timer: Timer | undefined;
  #last = 0;
  /** The limits chosen so far, in order (for reports and tests). */
  readonly history: number[] = [];

  constructor(limit: ResizableLimit, measure: () => Sample, options: AdaptiveOptions & { intervalMs?: number | undefined; clock?: Clock | undefined } = {}) {
    this.#limit = limit;
    this.#measure = measure;
    this.#controller = new AdaptiveController(limit.limit, options);
    this.#clock = options.clock ?? getClock();
    this.#intervalMs = checkNonNegative('intervalMs', options.intervalMs ?? 500);
  }

  get limit(): number {
    return this.#controller.limit;
  }

  /** Starts adjusting the limit at each interval. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = this.#clock.now();
    this.#arm();
  }

  /** Stops adjusting the limit. */
  stop(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(this.#intervalMs, () => {
      const now = this.#clock.now();
      const next = this.#controller.update(this.#measure(), now - this.#last);
      this.#last = now;
      this.history.push(next);
      if (next !== this.#limit.limit) this.#limit.resize(next);
      this.#arm();
    });
  }
}

// Event-loop lag from `perf_hooks.monitorEventLoopDelay`, which samples in libuv on an unref'd
// timer: it costs no JS callback per sample and never keeps the process alive.
import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { checkInteger } from '../core/validate.ts';

/** Options of {@link LoopLagMonitor}. */
export interface LoopLagOptions {
  /** Sampling interval in milliseconds. @default 10 */
  resolution?: number | undefined;
}

/** Event-loop delay statistics in milliseconds (all 0 before any sample). */
export interface LoopLagStats {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

const NS_PER_MS = 1e6;

/**
 * Measures how late the event loop runs its timers: a busy or blocked loop shows as high p99
 * and max. `start()`/`stop()` are idempotent; statistics survive `stop()` until `reset()`.
 *
 * @example
 * using lag = new LoopLagMonitor().start();
 * await work();
 * console.log(lag.stats()); // { p50: 0.1, p99: 2.3, max: 38.2, … }
 */
export class LoopLagMonitor {
  readonly #resolution: number;
  #histogram: ELDHistogram | undefined;
  #running = false;

  constructor(options: LoopLagOptions = {}) {
    this.#resolution = checkInteger('resolution', options.resolution ?? 10, 1);
  }

  /** Whether sampling is on. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts sampling. */
  start(): this {
    if (this.#running) return this;
    this.#histogram ??= monitorEventLoopDelay({ resolution: this.#resolution });
    this.#histogram.enable();
    this.#running = true;
    return this;
  }

  /** Stops sampling; the statistics so far stay readable. */
  stop(): void {
    if (!this.#running) return;
    this.#histogram?.disable();
    this.#running = false;
  }

  /** Forgets the samples so far. */
  reset(): void {
    this.#histogram?.reset();
  }

  /**
   * The lag statistics in milliseconds: how much later than due the sampling timer ran. Node's
   * raw delay includes the sampling interval itself (an idle loop reads about `resolution`), so
   * `resolution` is subtracted, floored at 0.
   */
  stats(): LoopLagStats {
    const h = this.#histogram;
    if (h === undefined || h.count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
    const lag = (ns: number) => Math.max(0, ns / NS_PER_MS - this.#resolution);
    return {
      count: h.count,
      min: lag(h.min),
      mean: lag(h.mean),
      p50: lag(h.percentile(50)),
      p90: lag(h.percentile(90)),
      p99: lag(h.percentile(99)),
      max: lag(h.max),
    };
  }

  /** Same as `stop()`. */
  [Symbol.dispose](): void {
    this.stop();
  }
}

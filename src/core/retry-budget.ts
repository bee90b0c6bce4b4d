// A retry budget (Finagle's RetryBudget, gRPC's retry throttling): retries may add at most `ratio`
// of the requests seen in the last `ttlMs`, plus a floor of `minPerSecond`, so that a failing
// dependency sees its load grow by a bounded share rather than multiply by the retry count.
//
// Counts are kept in ten buckets over the window, so memory is fixed and old traffic ages out.
import { type Clock, getClock } from './clock.ts';
import { checkNonNegative } from './validate.ts';

/** Options of `RetryBudget`: the share of retries allowed over a sliding window. */
export interface RetryBudgetOptions {
  /** Retries allowed per request in the window. @default 0.2 */
  ratio?: number | undefined;
  /** Retries always allowed per second, so that low traffic can still retry. @default 10 */
  minPerSecond?: number | undefined;
  /** The window. @default 10_000 */
  ttlMs?: number | undefined;
  clock?: Clock | undefined;
}

const BUCKETS = 10;

/**
 * Caps retries at a share of recent traffic.
 *
 * @example
 * const budget = new RetryBudget({ ratio: 0.1 });
 * budget.recordRequest();
 * if (budget.tryRetry()) { … retry … }
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minPerSecond: number;
  readonly ttlMs: number;
  #clock: Clock;
  #requests = new Float64Array(BUCKETS);
  #retries = new Float64Array(BUCKETS);
  #epoch: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = checkNonNegative('ratio', options.ratio ?? 0.2);
    this.minPerSecond = checkNonNegative('minPerSecond', options.minPerSecond ?? 10);
    this.ttlMs = checkNonNegative('ttlMs', options.ttlMs ?? 10_000);
    this.#clock = options.clock ?? getClock();
    this.#epoch = this.#bucket();
  }

  /** Counts a first attempt. */
  recordRequest(): void {
    this.#requests[this.#advance()]! += 1;
  }

  /** Takes one retry from the budget if there is one left; false means do not retry. */
  tryRetry(): boolean {
    const slot = this.#advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    const allowed = this.minPerSecond * (this.ttlMs / 1000) + this.ratio * requests;
    if (retries + 1 > allowed) return false;
    this.#retries[slot]! += 1;
    return true;
  }

  /** Requests and retries counted in the window. */
  stats(): { requests: number; retries: number } {
    this.#advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.#requests[i]!;
      retries += this.#retries[i]!;
    }
    return { requests, retries };
  }

  #bucket(): number {
    return Math.floor(this.#clock.now() / (this.ttlMs / BUCKETS));
  }

  /** Clears buckets that left the window; returns the current slot. */
  #advance(): number {
    const now = this.#bucket();
    const gap = Math.min(now - this.#epoch, BUCKETS);
    for (let i = 1; i <= gap; i++) {
      const slot = (this.#epoch + i) % BUCKETS;
      this.#requests[slot] = 0;
      this.#retries[slot] = 0;
    }
    this.#epoch = now;
    return now % BUCKETS;
  }
}

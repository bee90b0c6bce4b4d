// An exact sliding-window rate limiter: at most `limit` grants in any half-open window of
// `interval` ms, even under bursts.
//
// Design: a sliding-window log of the last `limit` grant times, kept in a ring buffer that is
// always full (it starts as `limit` grants at -Infinity). The slot at #head is the oldest of
// the last `limit` grants; a new grant is allowed iff that one is at least `interval` old,
// which is exactly "no window of `interval` holds `limit + 1` grants". A grant of cost n needs
// the n oldest slots to be that old, and overwrites them with now. O(cost) time, `limit`
// numbers of memory, no timer while nobody waits.
//
// Not a token bucket or GCRA: those enforce an average rate with a burst allowance, so a full
// bucket spent at the end of one window plus the refill at the start of the next lets through
// nearly 2×limit within one `interval` — which is what a server's "N per interval" quota rejects.
//
// Waiters queue FIFO (no barging: `tryAcquire` fails while anyone waits). Only the head waiter
// has a timer, set for the moment its grant becomes possible; cancelled waiters are marked dead
// and skipped (lazy deletion), and a cancelled head hands the timer to the next live waiter.
import { type Clock, type Timer, getClock } from './clock.ts';
import { Deque } from './deque.ts';
import { channels } from './diagnostics.ts';
import { InvalidArgumentError, TimeoutError } from './errors.ts';
import type { Operation, Wrapped } from './policy.ts';
import { callSignal } from './policy.ts';
import { onAbort } from './signals.ts';
import { checkFunction, checkInteger, checkNonNegative, checkSignal } from './validate.ts';

/** Options of `RateLimiter`: at most `limit` acquisitions in any `interval` ms. */
export interface RateLimiterOptions {
  /** Grants allowed in any window of `interval` ms. */
  limit: number;
  /** The window, in ms. */
  interval: number;
  /** @default the default clock, read at construction */
  clock?: Clock | undefined;
}

/** Options of `RateLimiter.acquire`. */
export interface RateLimiterAcquireOptions {
  /** Gives up waiting, rejecting with `signal.reason`; the place in line is freed. */
  signal?: AbortSignal | undefined;
  /** Gives up after this many ms with a `TimeoutError`. @default Infinity */
  timeout?: number | undefined;
  /** How many grants this takes at once (≤ `limit`). @default 1 */
  cost?: number | undefined;
}

/** What `RateLimiter.stats()` returns. */
export interface RateLimiterStats {
  readonly limit: number;
  readonly interval: number;
  /** Grants that could be taken right now (if nobody waited). */
  readonly available: number;
  /** Acquires waiting in line. */
  readonly waiting: number;
  /** Grants given since construction (a cost-n acquire counts n). */
  readonly granted: number;
}

interface Waiter {
  readonly cost: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  unlink: () => void;
  timer: Timer | undefined;
  dead: boolean;
}

/**
 * Lets at most `limit` acquisitions through in any `interval` ms; the rest wait in line.
 *
 * @example
 * const limiter = new RateLimiter({ limit: 5, interval: 1000 }); // 5 requests per second
 * await limiter.acquire({ signal });
 * const get = limiter.wrap(({ signal }) => fetch(url, { signal }));
 */
export class RateLimiter {
  readonly limit: number;
  readonly interval: number;
  #clock: Clock;
  #log: Float64Array;
  #head = 0;
  #waiters = new Deque<Waiter>();
  #waiting = 0;
  #granted = 0;
  #timer: Timer | undefined = undefined;
  #timerDue = 0;
  #onTimer = () => {
    this.#timer = undefined;
    this.#drain();
  };

  constructor(options: RateLimiterOptions) {
    const { limit, interval, clock = getClock() } = options ?? ({} as RateLimiterOptions);
    this.limit = checkInteger('limit', limit, 1);
    this.interval = checkNonNegative('interval', interval);
    this.#clock = clock;
    this.#log = new Float64Array(limit).fill(-Infinity);
  }

  /**
   * Waits for a grant (or `cost` grants at once), in line behind earlier callers.
   *
   * @example
   * await limiter.acquire({ timeout: 5000 });
   */
  acquire(options: RateLimiterAcquireOptions = {}): Promise<void> {
    const { signal, timeout = Infinity, cost = 1 } = options;
    checkSignal(signal);
    checkNonNegative('timeout', timeout, true);
    this.#checkCost(cost);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.#clock.now();
    if (this.#waiting === 0 && this.#delayFor(cost, now) === 0) {
      this.#grant(cost, now);
      return Promise.resolve();
    }
    if (timeout === 0) return Promise.reject(new TimeoutError('Rate limiter acquire timed out'));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { cost, resolve, reject, unlink: noop, timer: undefined, dead: false };
      this.#waiters.push(waiter);
      this.#waiting++;
      if (channels.waitStart.hasSubscribers) channels.waitStart.publish({ primitive: this, kind: 'rate-limiter' });
      if (timeout !== Infinity) {
        waiter.timer = this.#clock.setTimer(timeout, () => this.#cancel(waiter, new TimeoutError('Rate limiter acquire timed out')));
      }
      waiter.unlink = onAbort(signal, (reason) => this.#cancel(waiter, reason));
      if (this.#waiting === 1) this.#drain();
    });
  }

  /** Takes a grant now if one is free and nobody waits; never waits. */
  tryAcquire(cost = 1): boolean {
    this.#checkCost(cost);
    const now = this.#clock.now();
    if (this.#waiting > 0 || this.#delayFor(cost, now) > 0) return false;
    this.#grant(cost, now);
    return true;
  }

  /**
   * `fn` behind this limiter: each call waits for a grant (on the call's signal), then runs.
   *
   * @example
   * const limited = limiter.wrap(({ signal }) => api.search(q, { signal }));
   */
  wrap<T>(fn: Operation<T>): Wrapped<T> {
    checkFunction('fn', fn);
    return async (ctx) => {
      const signal = callSignal(ctx?.signal);
      await this.acquire({ signal });
      return fn({ signal });
    };
  }

  /** A snapshot of the limiter. */
  stats(): RateLimiterStats {
    const cutoff = this.#clock.now() - this.interval;
    // The ring read from #head is in grant order, so the expired grants form a prefix.
    let lo = 0;
    let hi = this.limit;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#log[(this.#head + mid) % this.limit]! <= cutoff) lo = mid + 1;
      else hi = mid;
    }
    return { limit: this.limit, interval: this.interval, available: lo, waiting: this.#waiting, granted: this.#granted };
  }

  #checkCost(cost: number): void {
    checkInteger('cost', cost, 1);
    if (cost > this.limit) throw new InvalidArgumentError(`Expected \`cost\` to be ≤ limit (${this.limit}), got ${cost}`);
  }

  /** Ms until `cost` grants are allowed; 0 if they are now. */
  #delayFor(cost: number, now: number): number {
    const oldest = this.#log[(this.#head + cost - 1) % this.limit]!;
    const wait = oldest + this.interval - now;
    return wait > 0 ? wait : 0;
  }

  #grant(cost: number, now: number): void {
    for (let i = 0; i < cost; i++) {
      this.#log[this.#head] = now;
      this.#head = this.#head + 1 === this.limit ? 0 : this.#head + 1;
    }
    this.#granted += cost;
  }

  #drain(): void {
    const now = this.#clock.now();
    for (;;) {
      const waiter = this.#waiters.peekFirst();
      if (waiter === undefined) break;
      if (waiter.dead) {
        this.#waiters.shift();
        continue;
      }
      const wait = this.#delayFor(waiter.cost, now);
      if (wait > 0) {
        this.#arm(now + wait, wait);
        return;
      }
      this.#waiters.shift();
      this.#waiting--;
      this.#grant(waiter.cost, now);
      this.#settle(waiter);
      waiter.resolve();
    }
    this.#disarm();
  }

  #arm(due: number, wait: number): void {
    if (this.#timer !== undefined) {
      if (this.#timerDue === due) return;
      this.#timer.clear();
    }
    this.#timerDue = due;
    // Rounded up: a real timer may fire a little early, and waking before `due` would only re-arm.
    this.#timer = this.#clock.setTimer(Math.ceil(wait), this.#onTimer);
  }

  #disarm(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }

  #settle(waiter: Waiter): void {
    waiter.dead = true;
    waiter.unlink();
    waiter.timer?.clear();
  }

  #cancel(waiter: Waiter, reason: unknown): void {
    if (waiter.dead) return;
    this.#settle(waiter);
    this.#waiting--;
    if (this.#waiters.peekFirst() === waiter) this.#drain();
    waiter.reject(reason);
  }
}

function noop(): void {}

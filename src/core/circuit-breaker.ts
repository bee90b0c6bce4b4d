// A circuit breaker (Nygard's Release It!, shaped like Resilience4j's).
//
//   closed ──(failure rate ≥ threshold over ≥ minimumRequests in the window)──▶ open
//   open ──(cooldownMs passed; checked on the next call or read of `state`)──▶ half-open
//   half-open ──(successesToClose probe successes)──▶ closed (fresh window)
//   half-open ──(a probe fails)──▶ open
//
// The window is time-based and rolling: `buckets` counters of windowMs/buckets each, rotated
// on use, so recording is O(1) and old outcomes age out without a timer. Time-based rather
// than count-based so that a quiet service's last failures do not keep it judged forever and a
// busy one reacts within `windowMs` whatever its rate.
//
// The breaker sets no timers at all: open→half-open happens lazily when someone asks, so an
// idle breaker holds nothing that keeps the process alive. Every transition bumps a generation;
// an outcome is recorded only in the generation it started in, so calls that were in flight
// when the state changed cannot trip or close the new state.
//
// Each call gets its own signal (the caller's); unlike opossum there is no shared
// AbortController, so one call's abort never touches another.
import { type Clock, getClock } from './clock.ts';
import { channels } from './diagnostics.ts';
import { CircuitOpenError, InvalidArgumentError } from './errors.ts';
import type { Operation, Wrapped } from './policy.ts';
import { callSignal } from './policy.ts';
import { checkFunction, checkInteger, checkNonNegative, checkSignal } from './validate.ts';

/** The state of a `CircuitBreaker`. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Published on the `spate:circuit-breaker:state` channel when a breaker changes state. */
export interface CircuitStateChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
}

/** Options of `CircuitBreaker`: when it opens, how long it stays open, how it probes. */
export interface CircuitBreakerOptions {
  /** Opens when failures / calls in the window reach this (0 < x ≤ 1). @default 0.5 */
  failureRateThreshold?: number | undefined;
  /** Calls the window must hold before the rate is judged at all. @default 10 */
  minimumRequests?: number | undefined;
  /** The rolling window, in ms. @default 10_000 */
  windowMs?: number | undefined;
  /** How many buckets the window is cut into (its resolution). @default 10 */
  buckets?: number | undefined;
  /** How long the breaker stays open before letting probes through, in ms. @default 30_000 */
  cooldownMs?: number | undefined;
  /** Probes allowed in flight at once while half-open. @default 1 */
  halfOpenMaxProbes?: number | undefined;
  /** Probe successes needed to close. @default halfOpenMaxProbes */
  successesToClose?: number | undefined;
  /**
   * Whether an error counts as a failure. An error that is not a failure counts as a success
   * (the dependency answered: a 404 says it is up). Errors after the caller's own signal
   * aborted count as neither, whatever this says. @default every error is a failure
   */
  isFailure?: ((error: unknown) => boolean) | undefined;
  /** Called on every state change, synchronously; should not throw. */
  onStateChange?: ((change: CircuitStateChange) => void) | undefined;
  /** @default the default clock, read at construction */
  clock?: Clock | undefined;
}

/** What `CircuitBreaker.stats()` returns. */
export interface CircuitBreakerStats {
  readonly state: CircuitState;
  /** Calls recorded in the current window (successes + failures). */
  readonly calls: number;
  readonly failures: number;
  /** failures / calls in the window, or 0 when it is empty. */
  readonly failureRate: number;
  /** Calls turned away with CircuitOpenError since construction. */
  readonly rejected: number;
  /** Probes in flight (half-open only). */
  readonly probes: number;
  /** When an open breaker will let a probe through, or `undefined` when not open. */
  readonly retryAt: number | undefined;
}

/**
 * `execute()` in two halves, for spate's HTTP session (not exported from the package): a request
 * hop then needs no closure, context object or async frame of the breaker's. `admit` throws
 * `CircuitOpenError` or returns a ticket; `settle` gives the ticket back with the outcome
 * (`undefined` records none, as after the caller's abort).
 * @internal
 */
export let breakerCall: {
  admit(breaker: CircuitBreaker): number;
  settle(breaker: CircuitBreaker, ticket: number, failed: boolean | undefined): void;
  /** Whether `error` counts as a failure for this breaker (its `isFailure`, or every error). */
  isFailure(breaker: CircuitBreaker, error: unknown): boolean;
};

/**
 * Stops calling a failing dependency for a while, then lets a few probes test it.
 *
 * @example
 * const breaker = new CircuitBreaker({ failureRateThreshold: 0.5, cooldownMs: 10_000 });
 * const user = await breaker.execute(({ signal }) => getUser(id, { signal }), { signal });
 * const guarded = breaker.wrap(withRetry(limiter.wrap(getUsers), { retries: 2 }));
 */
export class CircuitBreaker {
  #threshold: number;
  #minimum: number;
  #bucketMs: number;
  #cooldown: number;
  #maxProbes: number;
  #toClose: number;
  #isFailure: ((error: unknown) => boolean) | undefined;
  #onStateChange: ((change: CircuitStateChange) => void) | undefined;
  #clock: Clock;

  #state: CircuitState = 'closed';
  #generation = 0;
  #retryAt = 0;
  #probes = 0;
  #probeSuccesses = 0;
  #rejected = 0;

  #successes: Uint32Array;
  #failures: Uint32Array;
  #bucket = 0;
  #bucketStart: number;
  #totalSuccesses = 0;
  #totalFailures = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    const {
      failureRateThreshold = 0.5,
      minimumRequests = 10,
      windowMs = 10_000,
      buckets = 10,
      cooldownMs = 30_000,
      halfOpenMaxProbes = 1,
      successesToClose = halfOpenMaxProbes,
      isFailure,
      onStateChange,
      clock = getClock(),
    } = options;
    if (typeof failureRateThreshold !== 'number' || !(failureRateThreshold > 0 && failureRateThreshold <= 1)) {
      throw new InvalidArgumentError(`Expected \`failureRateThreshold\` to be a number in (0, 1], got ${String(failureRateThreshold)}`);
    }
    checkInteger('minimumRequests', minimumRequests, 1);
    checkNonNegative('windowMs', windowMs);
    if (windowMs === 0) throw new InvalidArgumentError('Expected `windowMs` to be a finite number > 0, got 0');
    checkInteger('buckets', buckets, 1);
    checkNonNegative('cooldownMs', cooldownMs);
    checkInteger('halfOpenMaxProbes', halfOpenMaxProbes, 1);
    checkInteger('successesToClose', successesToClose, 1);
    if (isFailure !== undefined) checkFunction('isFailure', isFailure);
    if (onStateChange !== undefined) checkFunction('onStateChange', onStateChange);
    this.#threshold = failureRateThreshold;
    this.#minimum = minimumRequests;
    this.#bucketMs = windowMs / buckets;
    this.#cooldown = cooldownMs;
    this.#maxProbes = halfOpenMaxProbes;
    this.#toClose = successesToClose;
    this.#isFailure = isFailure;
    this.#onStateChange = onStateChange;
    this.#clock = clock;
    this.#successes = new Uint32Array(buckets);
    this.#failures = new Uint32Array(buckets);
    this.#bucketStart = clock.now();
  }

  /** The current state; an open breaker whose cooldown has passed reads (and becomes) half-open. */
  get state(): CircuitState {
    this.#checkCooldown(this.#clock.now());
    return this.#state;
  }

  /**
   * Runs `fn` if the breaker lets it: rejects with `CircuitOpenError` (without calling `fn`)
   * when open, or half-open with every probe slot taken. `fn`'s own result or error comes back
   * unchanged.
   *
   * @example
   * try {
   *   await breaker.execute(({ signal }) => pay(order, { signal }), { signal });
   * } catch (e) {
   *   if (e instanceof CircuitOpenError) return later(e.retryAt);
   *   throw e;
   * }
   */
  async execute<T>(fn: Operation<T>, options: { signal?: AbortSignal | undefined } = {}): Promise<T> {
    const { signal } = options;
    checkSignal(signal);
    if (signal?.aborted) throw signal.reason;
    const ticket = this.#admit();
    let value: T;
    try {
      value = await fn({ signal: callSignal(signal) });
    } catch (error) {
      this.#settle(ticket, signal?.aborted ? undefined : this.#failure(error));
      throw error;
    }
    this.#settle(ticket, false);
    return value;
  }

  /**
   * `fn` behind this breaker, as a wrapper that composes with the others.
   *
   * @example
   * const getUser = breaker.wrap(({ signal }) => api.getUser(id, { signal }));
   */
  wrap<T>(fn: Operation<T>): Wrapped<T> {
    checkFunction('fn', fn);
    return (ctx) => this.execute(fn, { signal: ctx?.signal });
  }

  /** Closes the breaker with a fresh window, whatever its state. */
  reset(): void {
    this.#transition('closed', this.#clock.now());
  }

  /** Opens the breaker now (for `cooldownMs`, then it probes as usual). */
  trip(): void {
    this.#transition('open', this.#clock.now());
  }

  /** A snapshot of the breaker. */
  stats(): CircuitBreakerStats {
    const now = this.#clock.now();
    this.#checkCooldown(now);
    this.#rotate(now);
    const calls = this.#totalSuccesses + this.#totalFailures;
    return {
      state: this.#state,
      calls,
      failures: this.#totalFailures,
      failureRate: calls === 0 ? 0 : this.#totalFailures / calls,
      rejected: this.#rejected,
      probes: this.#probes,
      retryAt: this.#state === 'open' ? this.#retryAt : undefined,
    };
  }

  /**
   * Lets a call in or throws `CircuitOpenError`. The ticket is the generation the call started
   * in, times two, plus one for a half-open probe.
   */
  #admit(): number {
    const now = this.#clock.now();
    this.#checkCooldown(now);
    if (this.#state === 'open' || (this.#state === 'half-open' && this.#probes >= this.#maxProbes)) {
      this.#rejected++;
      const retryAt = this.#state === 'open' ? this.#retryAt : now;
      throw new CircuitOpenError(this.#state === 'open' ? 'Circuit is open' : 'Circuit is half-open and its probes are in use', retryAt);
    }
    const probe = this.#state === 'half-open';
    if (probe) this.#probes++;
    return this.#generation * 2 + (probe ? 1 : 0);
  }

  /**
   * Ends a call let in by `#admit`: frees its probe slot (unless the state changed since) and
   * records its outcome (`undefined` records none, as after the caller's abort).
   */
  #settle(ticket: number, failed: boolean | undefined): void {
    const generation = Math.floor(ticket / 2);
    if (ticket % 2 === 1 && generation === this.#generation) this.#probes--;
    if (failed !== undefined) this.#record(generation, failed);
  }

  #failure(error: unknown): boolean {
    return this.#isFailure === undefined || this.#isFailure(error);
  }

  static {
    breakerCall = {
      admit: (breaker) => breaker.#admit(),
      settle: (breaker, ticket, failed) => breaker.#settle(ticket, failed),
      isFailure: (breaker, error) => breaker.#failure(error),
    };
  }

  #checkCooldown(now: number): void {
    if (this.#state === 'open' && now >= this.#retryAt) this.#transition('half-open', now);
  }

  #record(generation: number, failed: boolean): void {
    if (generation !== this.#generation) return;
    const now = this.#clock.now();
    if (this.#state === 'half-open') {
      if (failed) this.#transition('open', now);
      else if (++this.#probeSuccesses >= this.#toClose) this.#transition('closed', now);
      return;
    }
    this.#rotate(now);
    if (failed) {
      this.#failures[this.#bucket]!++;
      this.#totalFailures++;
    } else {
      this.#successes[this.#bucket]!++;
      this.#totalSuccesses++;
    }
    // Judged after successes too: the call that reaches minimumRequests may be a success.
    const calls = this.#totalSuccesses + this.#totalFailures;
    if (calls >= this.#minimum && this.#totalFailures / calls >= this.#threshold) this.#transition('open', now);
  }

  /** Moves the window to `now`, emptying the buckets it passed. */
  #rotate(now: number): void {
    const passed = Math.floor((now - this.#bucketStart) / this.#bucketMs);
    if (passed <= 0) return;
    const n = this.#successes.length;
    for (let i = 1; i <= Math.min(passed, n); i++) {
      const b = (this.#bucket + i) % n;
      this.#totalSuccesses -= this.#successes[b]!;
      this.#totalFailures -= this.#failures[b]!;
      this.#successes[b] = 0;
      this.#failures[b] = 0;
    }
    this.#bucket = (this.#bucket + passed) % n;
    this.#bucketStart += passed * this.#bucketMs;
  }

  #transition(to: CircuitState, now: number): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    this.#probes = 0;
    this.#probeSuccesses = 0;
    if (to === 'open') this.#retryAt = now + this.#cooldown;
    if (to === 'closed') {
      this.#successes.fill(0);
      this.#failures.fill(0);
      this.#totalSuccesses = 0;
      this.#totalFailures = 0;
      this.#bucket = 0;
      this.#bucketStart = now;
    }
    if (from === to) return;
    if (channels.breakerState.hasSubscribers) channels.breakerState.publish({ breaker: this, from, to });
    this.#onStateChange?.({ from, to });
  }
}

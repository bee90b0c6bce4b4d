// Retry with backoff. Design: a plain loop of `attempt → classify → wait`. The wait is `sleep`
// on the caller's signal, so an abort ends it at once and leaves no timer. The final error is
// rethrown as the same object the operation threw — never wrapped — because callers
// `instanceof`-check it (`catch (e) { if (e instanceof HttpError && e.status === 404) … }`) and
// a wrapper would break every such check. The attempt count is kept beside it in a WeakMap
// (`retryAttempts(error)`), so nothing is written onto the caller's error, even a frozen one.
import { type Backoff, exponentialBackoff } from './backoff.ts';
import { type Clock, getClock } from './clock.ts';
import { channels } from './diagnostics.ts';
import type { Wrapped } from './policy.ts';
import { callSignal } from './policy.ts';
import { sleep } from './sleep.ts';
import { checkFunction, checkInteger, checkNonNegative, checkSignal } from './validate.ts';

/** What each attempt receives. */
export interface RetryContext {
  /** The caller's signal (or one nobody aborts). Pass it on to the I/O. */
  readonly signal: AbortSignal;
  /** 1 for the first call, 2 for the first retry, … */
  readonly attempt: number;
}

/** Passed to `onRetry` before each wait. */
export interface RetryEvent {
  /** What the failed attempt threw. */
  readonly error: unknown;
  /** The number of the attempt that failed (1 for the first call). */
  readonly attempt: number;
  /** How long the next wait is, in ms. */
  readonly delay: number;
}

/** Options of `retry` and `withRetry`: how many attempts, which errors, and the delays between them. */
export interface RetryOptions {
  /** Retries after the first call (so at most `retries + 1` calls); `Infinity` for no limit. @default 3 */
  retries?: number | undefined;
  /** The delay before each retry; gets the retry number from 0. @default exponentialBackoff() */
  backoff?: Backoff | undefined;
  /**
   * Whether to retry after `error` (thrown by attempt number `attempt`). `false` rethrows at
   * once; `true` waits the backoff; a number waits that many ms instead (a server's
   * Retry-After, say). Not called once the retries are spent. @default every error is retried
   */
  retryOn?: ((error: unknown, attempt: number) => boolean | number) | undefined;
  /** Stops everything: rejects with `signal.reason`; there is no retry after an abort. */
  signal?: AbortSignal | undefined;
  /** Called before each wait (for logging); a throw ends the retries with that error. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** @default the default clock, read at call time */
  clock?: Clock | undefined;
  /**
   * A delay longer than this ends the retries and rethrows the last error, rather than waiting
   * (got's `maxRetryAfter`): retrying before a server's Retry-After would only fail again.
   * @default Infinity
   */
  maxDelay?: number | undefined;
}

const defaultBackoff = exponentialBackoff();
const attempts = new WeakMap<object, number>();

/**
 * How many attempts `retry` made before giving up with `error`, or `undefined` if `error` did
 * not come out of `retry` (or is not an object, which a WeakMap cannot key).
 *
 * @example
 * try { await retry(fetchIt) } catch (e) { log.warn({ attempts: retryAttempts(e) }, 'gave up') }
 */
export function retryAttempts(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? attempts.get(error) : undefined;
}

/**
 * Calls `fn` until it succeeds, waiting `backoff(n)` between attempts, at most `retries` times
 * more. Rejects with the last error, unchanged; with `signal.reason` on abort.
 *
 * @example
 * const user = await retry(({ signal }) => getUser(id, { signal }), {
 *   retries: 5,
 *   retryOn: (e) => !(e instanceof NotFoundError),
 *   signal: AbortSignal.timeout(10_000),
 * });
 */
export function retry<T>(fn: (ctx: RetryContext) => T | PromiseLike<T>, options: RetryOptions = {}): Promise<T> {
  const { retries = 3, backoff = defaultBackoff, retryOn, signal, onRetry, clock = getClock(), maxDelay = Infinity } = options;
  checkFunction('fn', fn);
  check(options);
  return run(fn, retries, backoff, retryOn, signal, onRetry, clock, maxDelay);
}

async function run<T>(
  fn: (ctx: RetryContext) => T | PromiseLike<T>,
  retries: number,
  backoff: Backoff,
  retryOn: RetryOptions['retryOn'],
  signal: AbortSignal | undefined,
  onRetry: RetryOptions['onRetry'],
  clock: Clock,
  maxDelay: number,
): Promise<T> {
  const inner = callSignal(signal);
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw signal.reason;
    try {
      return await fn({ signal: inner, attempt });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const delay = attempt > retries ? undefined : delayAfter(error, attempt, retryOn, backoff);
      if (delay === undefined || !(delay <= maxDelay)) {
        if (typeof error === 'object' && error !== null) attempts.set(error, attempt);
        throw error;
      }
      onRetry?.({ error, attempt, delay });
      if (channels.retry.hasSubscribers) channels.retry.publish({ attempt, delay, error });
      await sleep(delay, { signal, clock });
    }
  }
}

function check(options: RetryOptions): void {
  const { retries = 3, backoff = defaultBackoff, retryOn, signal, onRetry, maxDelay = Infinity } = options;
  checkInteger('retries', retries, 0, true);
  checkFunction('backoff', backoff);
  if (retryOn !== undefined) checkFunction('retryOn', retryOn);
  if (onRetry !== undefined) checkFunction('onRetry', onRetry);
  checkNonNegative('maxDelay', maxDelay, true);
  checkSignal(signal);
}

function delayAfter(error: unknown, attempt: number, retryOn: RetryOptions['retryOn'], backoff: Backoff): number | undefined {
  const verdict = retryOn === undefined ? true : retryOn(error, attempt);
  if (verdict === false) return undefined;
  const delay = typeof verdict === 'number' ? verdict : backoff(attempt - 1);
  // NaN means "no usable delay": give up rather than spin or wait forever.
  return Number.isNaN(delay) ? undefined : Math.max(0, delay);
}

/**
 * `fn` with retries built in, as a wrapper that composes with the others. Each call of the result
 * is one `retry` run; its `{ signal }` argument is that run's signal.
 *
 * @example
 * const getUser = withRetry(({ signal }) => http.get(url, { signal }), { retries: 3 });
 * await getUser({ signal });
 */
export function withRetry<T>(fn: (ctx: RetryContext) => T | PromiseLike<T>, options: Omit<RetryOptions, 'signal'> = {}): Wrapped<T> {
  checkFunction('fn', fn);
  check(options);
  return (ctx) => retry(fn, { ...options, signal: ctx?.signal });
}

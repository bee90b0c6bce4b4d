// One item through one stage: rate limit, per-call timeout and retries around `outputsOf`.
// Transport-independent: the in-process runner and the broker workers both call it. An abort of
// the caller's signal rejects with `signal.reason`; any other failure is an outcome, never thrown,
// so the caller decides between dead letter and fail-fast.
import { type Clock, getClock } from '../core/clock.ts';
import type { RateLimiter } from '../core/rate-limiter.ts';
import { type RetryEvent, retry, retryAttempts } from '../core/retry.ts';
import { timeout } from '../core/timeout.ts';
import { type Stage, type StageContext, outputsOf } from './stage.ts';

/** How an item ended in a stage: its outputs, or the last error; `attempts` counts the calls made. */
export type Outcome =
  | { readonly ok: true; readonly outputs: unknown[]; readonly attempts: number }
  | { readonly ok: false; readonly error: unknown; readonly attempts: number };

/** What `invoke` needs besides the stage and the item. */
export interface InvokeOptions {
  /** Stops the item now: the call's signal aborts and `invoke` rejects with the reason. */
  signal: AbortSignal;
  /** @default the default clock */
  clock?: Clock | undefined;
  /** Shared by every worker of the stage (built from `options.rateLimit`). */
  limiter?: RateLimiter | undefined;
  /** Called before each wait for a retry (the runner counts retries with it). */
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

/**
 * Runs `input` through `stage` with its timeout, retries and rate limit.
 *
 * @example
 * const outcome = await invoke(stage, item, { signal });
 * if (!outcome.ok) await store.addDeadLetter(deadLetter(item, stage.name, outcome.error, outcome.attempts, Date.now()));
 */
export async function invoke(stage: Stage, input: unknown, options: InvokeOptions): Promise<Outcome> {
  const { signal, limiter, onRetry } = options;
  const clock = options.clock ?? getClock();
  const s = stage.options;
  let attempts = 0;
  const once = async (ctx: { signal: AbortSignal; attempt: number }): Promise<unknown[]> => {
    attempts = ctx.attempt;
    if (limiter) await limiter.acquire({ signal: ctx.signal });
    const call: StageContext = { signal: ctx.signal, attempt: ctx.attempt, stage: stage.name };
    if (s.timeout === Infinity) return outputsOf(stage, input, call);
    return timeout(s.timeout, ({ signal: inner }) => outputsOf(stage, input, { ...call, signal: inner }), { signal: ctx.signal, clock });
  };
  try {
    const outputs = s.retries === 0 && !limiter
      ? await once({ signal, attempt: 1 })
      : await retry(once, { retries: s.retries, backoff: s.backoff, retryOn: s.retryOn, maxDelay: s.maxDelay, signal, clock, onRetry });
    return { ok: true, outputs, attempts };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    return { ok: false, error, attempts: retryAttempts(error) ?? attempts };
  }
}

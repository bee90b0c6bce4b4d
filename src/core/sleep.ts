import { type Clock, getClock } from './clock.ts';
import { onAbort } from './signals.ts';
import { checkNonNegative, checkSignal } from './validate.ts';

/** Options of `sleep`. */
export interface SleepOptions {
  /** Ends the sleep at once, rejecting with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** @default the default clock (see `setDefaultClock`) */
  clock?: Clock | undefined;
}

/**
 * Waits `ms` milliseconds. The timer and the abort listener are gone once it settles.
 *
 * @example
 * await sleep(100, { signal: AbortSignal.timeout(50) }); // rejects with the TimeoutError DOMException
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  checkNonNegative('ms', ms, true);
  const { signal, clock = getClock() } = options;
  checkSignal(signal);
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const timer = ms === Infinity ? undefined : clock.setTimer(ms, () => {
      unlink();
      resolve();
    });
    const unlink = onAbort(signal, (reason) => {
      timer?.clear();
      reject(reason);
    });
  });
}

import { onAbort } from './signals.ts';
import { checkSignal } from './validate.ts';

/** Options of `shield`. */
export interface ShieldOptions {
  /** The caller's signal: aborting it rejects the wait with `signal.reason`, not the work. */
  signal?: AbortSignal | undefined;
}

/**
 * Waits for `work` without letting the caller's cancellation reach it (asyncio's `shield`):
 * an abort of `options.signal` rejects this wait at once with `signal.reason`, while `work` runs
 * on. The listener is removed when either side settles, and a later rejection of `work` is
 * observed (no unhandled rejection). Start the inner work without the caller's signal, or the
 * caller's abort reaches it through that link instead.
 *
 * @example
 * // A child that must finish writing its journal even if its group is cancelled:
 * const write = createTask(() => journal.flush());
 * await shield(write, { signal });
 */
export function shield<T>(work: PromiseLike<T>, options: ShieldOptions = {}): Promise<T> {
  const { signal } = options;
  checkSignal(signal);
  if (signal === undefined) return Promise.resolve(work);
  return new Promise<T>((resolve, reject) => {
    const unlink = onAbort(signal, reject);
    work.then(
      (value) => {
        unlink();
        resolve(value);
      },
      (error: unknown) => {
        unlink();
        reject(error);
      },
    );
  });
}

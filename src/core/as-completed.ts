import { type Clock, getClock } from './clock.ts';
import { Deque } from './deque.ts';
import { CancelledError, TimeoutError } from './errors.ts';
import { onAbort, throwIfAborted } from './signals.ts';
import { type InputValue, Task, type TaskInput } from './task.ts';
import { checkNonNegative, checkSignal } from './validate.ts';

/** Options of `asCompleted`. */
export interface AsCompletedOptions {
  /** Milliseconds for the whole loop; on expiry the next step throws `TimeoutError`. @default Infinity */
  timeout?: number | undefined;
  /** Aborting it makes the next step throw `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** @default the default clock (see `setDefaultClock`) */
  clock?: Clock | undefined;
}

interface Outcome {
  ok: boolean;
  value: unknown;
}

/**
 * Yields the inputs' values in the order they complete (asyncio's as_completed). A failure is
 * thrown at the position where it completes (as asyncio's `await next_one` raises), so one
 * `try` around the loop sees it. When the loop ends early — `break`, a throw, the timeout, an
 * abort — the inputs still running are cancelled (Tasks, and the functions it started; a plain
 * promise cannot be) and their outcomes are observed, not reported. Values that completed
 * before the deadline are still yielded before the `TimeoutError`; an abort wins at once.
 *
 * Inputs are consumed, and functions started, on the first `next()`.
 *
 * @example
 * for await (const page of asCompleted(urls.map((u) => ({ signal }) => fetchPage(u, { signal })))) {
 *   console.log(page.title);
 * }
 */
export function asCompleted<I extends TaskInput<unknown>>(inputs: Iterable<I>, options: AsCompletedOptions = {}): AsyncGenerator<InputValue<I>, void, undefined> {
  const { timeout = Infinity, signal, clock = getClock() } = options;
  checkNonNegative('timeout', timeout, true);
  checkSignal(signal);
  return run(inputs as Iterable<TaskInput<InputValue<I>>>, timeout, signal, clock);
}

async function* run<T>(inputs: Iterable<TaskInput<T>>, timeout: number, signal: AbortSignal | undefined, clock: Clock): AsyncGenerator<T, void, undefined> {
  throwIfAborted(signal);
  const outcomes = new Deque<Outcome>();
  const tasks: Task<T>[] = [];
  let controller: AbortController | undefined;
  let wake: (() => void) | undefined;
  let expired: TimeoutError | undefined;
  let aborted = false;
  const arrive = (outcome: Outcome) => {
    outcomes.push(outcome);
    wake?.();
  };
  let count = 0;
  for (const input of inputs) {
    let promise: PromiseLike<T>;
    if (typeof input === 'function') {
      controller ??= new AbortController();
      try {
        promise = Promise.resolve(input({ signal: controller.signal }));
      } catch (error) {
        promise = Promise.reject(error);
      }
    } else {
      promise = input;
      if (input instanceof Task) tasks.push(input as Task<T>);
    }
    count++;
    promise.then((value) => arrive({ ok: true, value }), (error: unknown) => arrive({ ok: false, value: error }));
  }
  const timer = timeout === Infinity ? undefined : clock.setTimer(timeout, () => {
    expired = new TimeoutError(`asCompleted() timed out after ${timeout} ms`);
    wake?.();
  });
  const unlink = onAbort(signal, () => {
    aborted = true;
    wake?.();
  });
  let yielded = 0;
  let stopReason: unknown;
  try {
    while (yielded < count) {
      while (outcomes.length === 0 && expired === undefined && !aborted) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      if (aborted) throw (stopReason = signal?.reason);
      const outcome = outcomes.shift();
      if (outcome === undefined) throw (stopReason = expired);
      yielded++;
      if (!outcome.ok) throw (stopReason = outcome.value);
      yield outcome.value as T;
    }
  } finally {
    timer?.clear();
    unlink();
    if (yielded < count) {
      const reason = aborted
        ? signal?.reason
        : new CancelledError('asCompleted() loop ended before every input completed', stopReason === undefined ? undefined : { cause: stopReason });
      controller?.abort(reason);
      for (const task of tasks) task.cancel(reason);
    }
  }
}

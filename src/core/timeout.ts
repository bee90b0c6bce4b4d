// Deadlines, trio style: `timeout`/`timeoutAt` (trio's fail_after/fail_at, asyncio's timeout())
// raise a TimeoutError; `moveOnAfter`/`moveOnAt` give up quietly with `undefined`.
//
// The work runs with a signal linked to the caller's; at the deadline that signal aborts with
// this scope's own TimeoutError, and the scope waits for the work to settle (structured: when
// the call returns, the work has stopped). A scope counts as expired only if its own timer aborted
// the signal first, so with nested scopes the one whose deadline fired is the one reported: an
// outer expiry passes through the inner scope as the outer's error.
//
// `waitFor` is the other shape, for work already started: a Task is cancelled at the deadline
// and waited for (asyncio's wait_for); a plain promise, which cannot be cancelled, is raced and
// abandoned at the deadline.
import { type Clock, getClock } from './clock.ts';
import { TimeoutError } from './errors.ts';
import { LinkedController, onAbort } from './signals.ts';
import { Task, type TaskFn } from './task.ts';
import { checkFunction, checkNonNegative, checkSignal } from './validate.ts';

/** Options of `timeout`, `timeoutAt` and `moveOnAfter`. */
export interface TimeoutOptions {
  /** The caller's signal; its abort reaches the work and the call rejects with what the work rejects with. */
  signal?: AbortSignal | undefined;
  /** @default the default clock (see `setDefaultClock`) */
  clock?: Clock | undefined;
}

/**
 * Runs `fn({ signal })` with a signal that aborts `ms` milliseconds from now; if it does, the
 * call rejects with a `TimeoutError` once `fn` settles — whatever `fn` rejected with (the
 * TimeoutError itself, or e.g. an AbortError; it is kept as `cause`). If `fn` still fulfils after
 * the deadline, its value is returned. `fn` must honour its signal; for work that cannot, use
 * `waitFor`. The timer is cleared when the call settles.
 *
 * @example
 * const body = await timeout(5000, ({ signal }) => fetch(url, { signal }).then((r) => r.text()));
 */
export function timeout<T>(ms: number, fn: TaskFn<T>, options: TimeoutOptions = {}): Promise<T> {
  checkNonNegative('ms', ms, true);
  const clock = options.clock ?? getClock();
  return scope(ms, fn, options.signal, clock, true) as Promise<T>;
}

/**
 * `timeout` with an absolute deadline in the clock's milliseconds (`clock.now()` based). A
 * deadline already past aborts the signal on the next timer turn.
 *
 * @example
 * const deadline = getClock().now() + 10_000;
 * await timeoutAt(deadline, (ctx) => step1(ctx));
 * await timeoutAt(deadline, (ctx) => step2(ctx)); // both share one budget
 */
export function timeoutAt<T>(deadline: number, fn: TaskFn<T>, options: TimeoutOptions = {}): Promise<T> {
  const clock = options.clock ?? getClock();
  return scope(untilDeadline(deadline, clock), fn, options.signal, clock, true) as Promise<T>;
}

/**
 * Like `timeout`, but on expiry resolves `undefined` instead of rejecting (trio's
 * move_on_after). Other failures, and the caller's abort, still reject.
 *
 * @example
 * const maybe = await moveOnAfter(100, ({ signal }) => cache.lookup(key, { signal }));
 * if (maybe === undefined) console.log('cache too slow, skipping');
 */
export function moveOnAfter<T>(ms: number, fn: TaskFn<T>, options: TimeoutOptions = {}): Promise<T | undefined> {
  checkNonNegative('ms', ms, true);
  const clock = options.clock ?? getClock();
  return scope(ms, fn, options.signal, clock, false);
}

/**
 * `moveOnAfter` with an absolute deadline in the clock's milliseconds.
 *
 * @example
 * await moveOnAt(clock.now() + 50, (ctx) => warmUp(ctx));
 */
export function moveOnAt<T>(deadline: number, fn: TaskFn<T>, options: TimeoutOptions = {}): Promise<T | undefined> {
  const clock = options.clock ?? getClock();
  return scope(untilDeadline(deadline, clock), fn, options.signal, clock, false);
}

/**
 * Waits for `work` at most `ms` milliseconds (asyncio's wait_for). On expiry:
 * - a Task is cancelled with a `TimeoutError`, and the call rejects with that error once the task
 *   has settled (as asyncio does since bpo-32751: when `waitFor` returns, the task is no longer
 *   running, so e.g. a lock it held is released);
 * - a plain promise cannot be cancelled: the call rejects at once and the promise runs on, its
 *   outcome observed and ignored. Pass a plain promise for work that may not honour a signal.
 * An abort of `options.signal` does the same with `signal.reason`. The timer and listener are
 * gone once the call settles.
 *
 * @example
 * const task = createTask(({ signal }) => download(url, { signal }));
 * await waitFor(task, 30_000); // on expiry: TimeoutError, and task.cancelled()
 */
export function waitFor<T>(work: PromiseLike<T>, ms: number, options: TimeoutOptions = {}): Promise<T> {
  checkNonNegative('ms', ms, true);
  const { signal, clock = getClock() } = options;
  checkSignal(signal);
  const task = work instanceof Task ? (work as Task<T>) : undefined;
  return new Promise<T>((resolve, reject) => {
    let stopped: unknown;
    let isStopped = false;
    let unlink = (): void => {};
    const stop = (error: unknown) => {
      if (isStopped) return;
      isStopped = true;
      stopped = error;
      timer?.clear();
      unlink();
      // A task is waited for after its cancellation; a plain promise is abandoned.
      if (task === undefined || !task.cancel(error)) reject(error);
    };
    const timer = ms === Infinity ? undefined : clock.setTimer(ms, () => stop(new TimeoutError(`Timed out after ${ms} ms`)));
    unlink = onAbort(signal, stop);
    work.then(
      (value) => {
        timer?.clear();
        unlink();
        if (isStopped) reject(stopped);
        else resolve(value);
      },
      (error: unknown) => {
        timer?.clear();
        unlink();
        if (!isStopped) reject(error);
        else if (error === stopped || !(stopped instanceof TimeoutError)) reject(stopped);
        else reject(new TimeoutError(stopped.message, { cause: error }));
      },
    );
  });
}

function untilDeadline(deadline: number, clock: Clock): number {
  if (typeof deadline !== 'number' || Number.isNaN(deadline)) checkNonNegative('deadline', deadline, true);
  return Math.max(0, deadline - clock.now());
}

function scope<T>(ms: number, fn: TaskFn<T>, signal: AbortSignal | undefined, clock: Clock, raise: boolean): Promise<T | undefined> {
  checkFunction('fn', fn);
  checkSignal(signal);
  if (signal?.aborted) return Promise.reject(signal.reason);
  return run(ms, fn, signal, clock, raise);
}

async function run<T>(ms: number, fn: TaskFn<T>, signal: AbortSignal | undefined, clock: Clock, raise: boolean): Promise<T | undefined> {
  const controller = new LinkedController(signal);
  let expired: TimeoutError | undefined;
  const timer = ms === Infinity ? undefined : clock.setTimer(ms, () => {
    // Already aborted by the caller or an enclosing scope: that abort is the one to report.
    if (controller.signal.aborted) return;
    expired = new TimeoutError(`Timed out after ${ms} ms`);
    controller.abort(expired);
  });
  try {
    return await fn({ signal: controller.signal });
  } catch (error) {
    if (expired === undefined) throw error;
    if (!raise) return undefined;
    if (error === expired) throw expired;
    throw new TimeoutError(expired.message, { cause: error });
  } finally {
    timer?.clear();
    controller.unlink();
  }
}

import { CancelledError } from './errors.ts';
import { onAbort } from './signals.ts';
import { Task, type TaskInput } from './task.ts';
import { checkSignal } from './validate.ts';

/** Options of `gather`. */
export interface GatherOptions {
  /** Put rejections in the result array (as values) instead of rejecting. @default false */
  returnExceptions?: boolean | undefined;
  /** Aborting it cancels every input it can and rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** The inputs of `gather`, position by position: `I` is the tuple (or array) of their values. */
export type GatherInputs<I extends readonly unknown[]> = readonly [...{ [K in keyof I]: TaskInput<I[K]> }];

/** The results of `gather(inputs)`, position by position. */
export type GatherResult<I extends readonly unknown[]> = { -readonly [K in keyof I]: Awaited<I[K]> };

/**
 * The results of `gather(inputs, { returnExceptions: true })`: a rejected position holds its
 * error. (Typed `Error`; a non-Error rejection value is passed on as it is.)
 */
export type GatherSettled<I extends readonly unknown[]> = { -readonly [K in keyof I]: Awaited<I[K]> | Error };

/**
 * Waits for every input and resolves with their values in input order (asyncio's gather). An
 * input is a Task, any PromiseLike, or a function `({ signal }) => …` that gather starts with a
 * signal of its own.
 *
 * Unlike asyncio, the first failure cancels the siblings gather can cancel (Tasks and the
 * functions it started; a plain promise cannot be) and gather rejects at once with that first
 * error, like `Promise.all`; the siblings' later outcomes (their cancellations) are observed and
 * not reported. With `returnExceptions`, nothing is cancelled and a rejected position holds its
 * error. An abort of `options.signal` cancels the inputs and rejects with `signal.reason`.
 * For a scope that also waits for the cancelled siblings to finish, use a TaskGroup.
 *
 * @example
 * const [user, posts] = await gather([
 *   ({ signal }) => getUser(id, { signal }),
 *   ({ signal }) => getPosts(id, { signal }),
 * ]);
 */
export function gather<I extends readonly unknown[]>(
  inputs: GatherInputs<I>,
  options?: GatherOptions & { returnExceptions?: false | undefined },
): Promise<GatherResult<I>>;
export function gather<I extends readonly unknown[]>(
  inputs: GatherInputs<I>,
  options: GatherOptions & { returnExceptions: true },
): Promise<GatherSettled<I>>;
export function gather(inputs: readonly TaskInput<unknown>[], options?: GatherOptions): Promise<unknown[]>;
export function gather(inputs: readonly TaskInput<unknown>[], options: GatherOptions = {}): Promise<unknown[]> {
  const { returnExceptions = false, signal } = options;
  checkSignal(signal);
  const n = inputs.length;
  return new Promise<unknown[]>((resolve, reject) => {
    const results = new Array<unknown>(n);
    const tasks: Task<unknown>[] = [];
    // One controller per function, not one shared: a signal with thousands of listeners costs
    // O(n) per addEventListener in Node (it walks the list for duplicates), O(n²) in all.
    const controllers: AbortController[] = [];
    let remaining = n;
    let settled = false;
    let unlink = (): void => {};
    const fail = (error: unknown, siblingReason: unknown) => {
      if (settled) return;
      settled = true;
      unlink();
      for (const controller of controllers) controller.abort(siblingReason);
      for (const task of tasks) task.cancel(siblingReason);
      reject(error);
    };
    unlink = onAbort(signal, (reason) => fail(reason, reason));
    if (n === 0 && !settled) {
      settled = true;
      resolve(results);
      return;
    }
    for (let i = 0; i < n; i++) {
      const input = inputs[i];
      let promise: PromiseLike<unknown>;
      if (typeof input === 'function') {
        if (settled) continue;
        const controller = new AbortController();
        controllers.push(controller);
        try {
          promise = Promise.resolve(input({ signal: controller.signal }));
        } catch (error) {
          promise = Promise.reject(error);
        }
      } else {
        promise = input as PromiseLike<unknown>;
        if (input instanceof Task) {
          tasks.push(input);
          if (settled) input.cancel(signal?.aborted ? signal.reason : new CancelledError('gather() was cancelled'));
        }
      }
      promise.then(
        (value) => {
          if (settled) return;
          results[i] = value;
          if (--remaining === 0) {
            settled = true;
            unlink();
            resolve(results);
          }
        },
        (error: unknown) => {
          if (settled) return;
          if (!returnExceptions) {
            fail(error, new CancelledError('gather() is cancelling: an input failed', { cause: error }));
            return;
          }
          results[i] = error;
          if (--remaining === 0) {
            settled = true;
            unlink();
            resolve(results);
          }
        },
      );
    }
  });
}

// A Task is asyncio's Task on a Promise: a piece of async work that starts at once and carries a
// name, a state and its own AbortSignal, so whoever holds it can cancel it.
//
// Design:
// - The task is its own context: `fn` receives the task typed as `TaskContext`, so starting a
//   task allocates no `{ signal }` object, and the AbortController is created only when someone
//   reads `signal` or cancels (many short tasks never do).
// - The promise that `then()` hands out is made lazily, on the first `then()`. An owned task (one
//   a TaskGroup or a combinator watches) that nobody awaits therefore allocates no promise for
//   its outcome and can never produce an unhandled rejection.
// - A bare task that fails and that nobody has awaited by the time it settles behaves like a
//   floating promise: Node reports an unhandled rejection. A cancelled task never does (asyncio
//   does not report cancellation either).
// - 'cancelled' means: the task's signal was aborted and `fn` rejected with exactly that reason.
//   `fn` that swallows the abort and returns a value makes the task 'fulfilled'.
import { channels } from './diagnostics.ts';
import { CancelledError, InvalidStateError } from './errors.ts';
import { LinkedController } from './signals.ts';
import { checkFunction, checkSignal } from './validate.ts';

/** Where a task is in its life. */
export type TaskState = 'pending' | 'fulfilled' | 'rejected' | 'cancelled';

/** What a task's function receives. */
export interface TaskContext {
  /** Aborts when the task is cancelled, or when the signal it was created with aborts. */
  readonly signal: AbortSignal;
}

/** The work a task runs. */
export type TaskFn<T> = (ctx: TaskContext) => T | PromiseLike<T>;

/** Options of `createTask` and `new Task`. */
export interface TaskOptions {
  /** Shown in diagnostics and errors. @default `Task-<n>` */
  name?: string | undefined;
  /** Cancels the task when it aborts (linked with one listener, removed when the task settles). */
  signal?: AbortSignal | undefined;
}

/**
 * Internal: something that watches its tasks' outcomes (a TaskGroup, a combinator). An owned
 * task never reports an unhandled rejection; the owner is told when it settles.
 */
export interface TaskOwner {
  /** If this has aborted when a task starts, the task starts cancelled with its reason. */
  readonly signal: AbortSignal | undefined;
  childSettled(task: Task<unknown>): void;
}

/** Internal: an owner that only marks its tasks as observed (for `wait`, `asCompleted`). */
export const observedOwner: TaskOwner = { signal: undefined, childSettled() {} };

let nextId = 1;

/**
 * A running piece of async work; await it like a promise. Create with `createTask()` (or
 * `group.spawn()`), not with `new`.
 *
 * @example
 * const task = createTask(({ signal }) => fetch(url, { signal }), { name: 'fetch' });
 * task.cancel();
 * await task.then(undefined, () => {}); // task.state === 'cancelled'
 */
export class Task<T> implements PromiseLike<T>, TaskContext {
  readonly name: string;
  #state: TaskState = 'pending';
  #value: T | undefined;
  #error: unknown;
  #controller: AbortController | undefined;
  #linked: LinkedController | undefined;
  #owner: TaskOwner | undefined;
  #promise: Promise<T> | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  constructor(fn: TaskFn<T>, options: TaskOptions = {}, owner?: TaskOwner) {
    checkFunction('fn', fn);
    const { name, signal } = options;
    checkSignal(signal);
    this.name = name ?? `Task-${nextId++}`;
    this.#owner = owner;
    if (signal !== undefined) {
      this.#linked = new LinkedController(signal);
      this.#controller = this.#linked;
    } else if (owner?.signal?.aborted) {
      this.#controller = new AbortController();
      this.#controller.abort(owner.signal.reason);
    }
    if (channels.taskStart.hasSubscribers) channels.taskStart.publish({ task: this });
    let result: T | PromiseLike<T>;
    try {
      result = fn(this);
    } catch (error) {
      result = Promise.reject(error);
    }
    void this.#settleWith(result);
  }

  /** Aborts when the task is cancelled (or its outer signal aborts). */
  get signal(): AbortSignal {
    return (this.#controller ??= new AbortController()).signal;
  }

  get state(): TaskState {
    return this.#state;
  }

  /** True once the task has settled, whichever way. */
  done(): boolean {
    return this.#state !== 'pending';
  }

  /** Whether the task ended by cancellation. */
  cancelled(): boolean {
    return this.#state === 'cancelled';
  }

  /**
   * Asks the task to stop: aborts its signal with `reason`. The task settles when its function
   * does (it is expected to honour the signal); it is 'cancelled' if it rejects with `reason`.
   * Returns false if the task had already settled.
   *
   * @param reason @default new CancelledError()
   */
  cancel(reason: unknown = new CancelledError()): boolean {
    if (this.#state !== 'pending') return false;
    this.#controller ??= new AbortController();
    this.#controller.abort(reason);
    return true;
  }

  /** The value of a fulfilled task; throws the error of a rejected or cancelled one. */
  result(): T {
    if (this.#state === 'fulfilled') return this.#value as T;
    if (this.#state === 'pending') throw new InvalidStateError(`Task ${this.name} is still pending`);
    throw this.#error;
  }

  /** The rejection (or cancellation) reason of a settled task; `undefined` if it fulfilled. */
  error(): unknown {
    if (this.#state === 'pending') throw new InvalidStateError(`Task ${this.name} is still pending`);
    return this.#error;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null | undefined,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null | undefined,
  ): Promise<R1 | R2> {
    return this.#outcome().then(onfulfilled, onrejected);
  }

  /** Like `Promise.prototype.catch` on the task's result. */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null | undefined): Promise<T | R> {
    return this.#outcome().catch(onrejected);
  }

  /** Like `Promise.prototype.finally` on the task's result. */
  finally(onfinally?: (() => void) | null | undefined): Promise<T> {
    return this.#outcome().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return 'Task';
  }

  #outcome(): Promise<T> {
    if (this.#promise !== undefined) return this.#promise;
    if (this.#state === 'fulfilled') this.#promise = Promise.resolve(this.#value as T);
    else if (this.#state !== 'pending') this.#promise = Promise.reject(this.#error);
    else {
      this.#promise = new Promise<T>((resolve, reject) => {
        this.#resolve = resolve;
        this.#reject = reject;
      });
    }
    return this.#promise;
  }

  async #settleWith(result: T | PromiseLike<T>): Promise<void> {
    let value: T;
    try {
      value = await result;
    } catch (error) {
      const controller = this.#controller;
      const cancelled = controller !== undefined && controller.signal.aborted && controller.signal.reason === error;
      this.#state = cancelled ? 'cancelled' : 'rejected';
      this.#error = error;
      this.#finish();
      if (this.#reject !== undefined) this.#reject(error);
      // Nobody awaits this bare task yet: a rejected promise with no handler, like a floating promise.
      else if (!cancelled && this.#owner === undefined) this.#promise = Promise.reject(error);
      this.#resolve = this.#reject = undefined;
      return;
    }
    this.#state = 'fulfilled';
    this.#value = value;
    this.#finish();
    if (this.#resolve !== undefined) this.#resolve(value);
    this.#resolve = this.#reject = undefined;
  }

  #finish(): void {
    if (this.#linked !== undefined) this.#linked.unlink();
    this.#linked = undefined;
    if (this.#owner !== undefined) this.#owner.childSettled(this as unknown as Task<unknown>);
    if (channels.taskEnd.hasSubscribers) channels.taskEnd.publish({ task: this, state: this.#state });
  }
}

/**
 * Starts `fn` now as a Task. `fn` receives `{ signal }`, which aborts when the task is cancelled
 * or when `options.signal` aborts.
 *
 * Unhandled rejections: a task that fails while nobody awaits it (and no TaskGroup owns it) is
 * reported by Node like any floating promise; await it, or spawn it in a TaskGroup. A cancelled
 * task is never reported.
 *
 * @example
 * const task = createTask(async ({ signal }) => {
 *   await sleep(1000, { signal });
 *   return 42;
 * });
 * console.log(await task); // 42
 */
export function createTask<T>(fn: TaskFn<T>, options: TaskOptions = {}): Task<T> {
  return new Task(fn, options);
}

/** What the combinators (`gather`, `wait`, `asCompleted`) accept: a Task, any PromiseLike, or a function they start. */
export type TaskInput<T> = PromiseLike<T> | TaskFn<T>;

/** The value a `TaskInput` settles with. */
export type InputValue<I> = I extends (ctx: TaskContext) => infer R ? Awaited<R> : Awaited<I>;

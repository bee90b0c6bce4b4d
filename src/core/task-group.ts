// A TaskGroup is asyncio 3.11's TaskGroup (trio's nursery): it owns the tasks spawned in it, and
// leaving it waits for all of them.
//
// Invariants:
// - `#children` holds exactly the live children; a child removes itself when it settles (through
//   the TaskOwner hook), so a long-lived group holds nothing for finished work.
// - Children are not linked to the group signal by listeners (that would be one listener per
//   child on a long-lived signal). The group aborts them itself by walking `#children`; every
//   path that aborts the group signal goes through `#abort`.
// - A child spawned after the group aborted starts with its signal already aborted (trio): the
//   group still waits for it, so cleanup code may spawn.
// - Failures are children that settle 'rejected'; children that settle 'cancelled' (rejected
//   with their own signal's reason: the group's, or their own `cancel()`) are not failures.
import { channels } from './diagnostics.ts';
import { CancelledError, ClosedError, TaskGroupError } from './errors.ts';
import { onAbort } from './signals.ts';
import { Task, type TaskFn, type TaskOwner } from './task.ts';
import { checkFunction, checkSignal } from './validate.ts';

/** Options of `TaskGroup` and `TaskGroup.run`. */
export interface TaskGroupOptions {
  /** Aborting it cancels every child; the group then rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Shown in diagnostics. @default `TaskGroup-<n>` */
  name?: string | undefined;
}

/** Options of `TaskGroup.spawn`. */
export interface SpawnOptions {
  /** @default `Task-<n>` */
  name?: string | undefined;
}

let nextId = 1;

/**
 * Runs tasks as a unit: leaving the group (`close()`, `await using`, or the end of
 * `TaskGroup.run`) waits for every child. The first child failure aborts `group.signal`, which
 * cancels the other children (and the body, if it uses `group.signal`). Failures are raised
 * together as a `TaskGroupError` — even a single one, so callers always handle one shape and a
 * failure is never confused with an error the body threw itself (the cause is `errors[0]`).
 * Cancellations caused by the group are not failures. An abort of `options.signal` cancels
 * everything and the group rejects with its reason (child failures, if any, take precedence).
 *
 * `spawn()` works until the group has finished closing (children may spawn siblings while the
 * group waits for them); afterwards it throws `ClosedError`, like every call on a closed resource.
 *
 * With `await using`, an error thrown by the block body cannot be seen by the group (dispose is
 * not told about it), so it does not cancel the children: prefer `TaskGroup.run`, which does.
 *
 * @example
 * const pages = await TaskGroup.run(async (group) => {
 *   const tasks = urls.map((url) => group.spawn(({ signal }) => fetch(url, { signal })));
 *   return Promise.all(tasks);
 * });
 *
 * @example
 * await using group = new TaskGroup();
 * group.spawn(({ signal }) => worker(signal));
 */
export class TaskGroup implements AsyncDisposable {
  readonly name: string;
  readonly #controller = new AbortController();
  readonly #children = new Set<Task<unknown>>();
  readonly #errors: unknown[] = [];
  readonly #owner: TaskOwner;
  #unlinkOuter: () => void;
  #outerAborted = false;
  #phase: 'open' | 'closing' | 'closed' = 'open';
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  #spawned = 0;

  constructor(options: TaskGroupOptions = {}) {
    const { signal, name } = options;
    checkSignal(signal);
    this.name = name ?? `TaskGroup-${nextId++}`;
    this.#owner = { signal: this.#controller.signal, childSettled: (task) => this.#childSettled(task) };
    this.#unlinkOuter = () => {};
    this.#unlinkOuter = onAbort(signal, (reason) => {
      this.#outerAborted = true;
      this.#abort(reason);
    });
  }

  /**
   * Runs `body` in a new group and waits for every child before returning the body's result.
   * An error thrown by the body cancels the children and is raised with their failures.
   *
   * @example
   * const [a, b] = await TaskGroup.run((group) => Promise.all([group.spawn(f), group.spawn(g)]));
   */
  static async run<T>(body: (group: TaskGroup) => T | PromiseLike<T>, options: TaskGroupOptions = {}): Promise<T> {
    checkFunction('body', body);
    const group = new TaskGroup(options);
    let value: T | undefined;
    try {
      value = await body(group);
    } catch (error) {
      group.#bodyFailed(error);
    }
    await group.close();
    return value as T;
  }

  /** The group's own signal: aborts when a child fails, the outer signal aborts, or on `abort()`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Children still running. */
  get size(): number {
    return this.#children.size;
  }

  /** True once `close()` has finished (no child is left and `spawn` throws). */
  get closed(): boolean {
    return this.#phase === 'closed';
  }

  /**
   * Starts `fn` as a child. Its `signal` aborts when the group cancels it. Throws `ClosedError`
   * once the group has finished closing.
   */
  spawn<T>(fn: TaskFn<T>, options: SpawnOptions = {}): Task<T> {
    if (this.#phase === 'closed') throw new ClosedError(`TaskGroup ${this.name} is closed`);
    const task = new Task(fn, { name: options.name }, this.#owner);
    this.#spawned++;
    this.#children.add(task as Task<unknown>);
    // `fn` ran synchronously and may have aborted the group before the task joined the set.
    const signal = this.#controller.signal;
    if (signal.aborted) task.cancel(signal.reason);
    return task;
  }

  /**
   * Cancels every child (and aborts `group.signal`) with `reason`. The group then closes
   * without raising for the children that honoured the cancellation.
   *
   * @param reason @default new CancelledError('TaskGroup was aborted')
   */
  abort(reason: unknown = new CancelledError(`TaskGroup ${this.name} was aborted`)): void {
    this.#abort(reason);
  }

  /**
   * Waits for every child (including ones spawned meanwhile), then raises the failures as a
   * `TaskGroupError`, or the outer signal's reason if it aborted. Idempotent.
   */
  close(): Promise<void> {
    return (this.#closing ??= this.#close());
  }

  /** Cancels the children still running and waits for all of them (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#phase = 'closing';
    if (this.#children.size > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    this.#phase = 'closed';
    this.#unlinkOuter();
    const errors = this.#errors;
    if (channels.taskGroupEnd.hasSubscribers) {
      channels.taskGroupEnd.publish({ group: this, children: this.#spawned, failed: errors.length });
    }
    if (errors.length > 0) {
      throw new TaskGroupError(errors, `${errors.length} task${errors.length === 1 ? '' : 's'} of ${this.name} failed`, { cause: errors[0] });
    }
    if (this.#outerAborted) throw this.#controller.signal.reason;
  }

  #childSettled(task: Task<unknown>): void {
    this.#children.delete(task);
    if (task.state === 'rejected') this.#fail(task.error());
    if (this.#children.size === 0 && this.#drained !== undefined) {
      this.#drained();
      this.#drained = undefined;
    }
  }

  #bodyFailed(error: unknown): void {
    const signal = this.#controller.signal;
    if (signal.aborted && error === signal.reason) return;
    // A body that awaited a failed child rethrows that child's error: count it once.
    if (this.#errors.includes(error)) return;
    this.#fail(error);
  }

  #fail(error: unknown): void {
    this.#errors.push(error);
    if (!this.#controller.signal.aborted) {
      this.#abort(new CancelledError(`TaskGroup ${this.name} is cancelling: a task failed`, { cause: error }));
    }
  }

  #abort(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#controller.abort(reason);
    for (const child of this.#children) child.cancel(reason);
  }
}

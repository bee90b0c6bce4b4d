// A condition variable over a Lock, asyncio semantics: `wait()` releases the lock, waits for a
// notification, and re-acquires the lock before it returns or throws, even when it gave up (the
// re-acquire cannot be cancelled, as in asyncio). So code after `wait()` always holds the lock.
//
// A notification consumed by a waiter that then aborts before `wait()` returns is passed on
// (`notify(1)`), as asyncio 3.13 does, so a notify is never lost to a cancelled waiter.
import { type Clock, getClock } from './clock.ts';
import { InvalidArgumentError, ReleaseError, TimeoutError } from './errors.ts';
import { Lock, type LockStats } from './lock.ts';
import { checkWaitOptions, type Permit, type WaitOptions, WaitQueue } from './semaphore.ts';
import { checkFunction, checkInteger } from './validate.ts';

/** Options of `Condition`. */
export interface ConditionOptions {
  /** Where `timeout`s of `wait()` are measured (the lock has its own). @default the default clock */
  clock?: Clock | undefined;
}

/** A snapshot of a condition. */
export interface ConditionStats {
  /** Whether the lock is held. */
  locked: boolean;
  /** Tasks in `wait()` waiting for a notification. */
  waiting: number;
  /** The underlying lock's stats (`waiting` there counts tasks waiting for the lock). */
  lock: LockStats;
}

/**
 * A condition variable (asyncio.Condition): tasks holding the lock `wait()` for another task to
 * `notify()` them. Lock-like: `acquire()`, `tryAcquire()`, `release()`, `use()`, `locked()`.
 * `wait()`, `waitFor()` and `notify()` throw `ReleaseError` unless the lock is held.
 *
 * @example
 * const cond = new Condition();
 * // consumer
 * await cond.use(async () => {
 *   await cond.waitFor(() => items.length > 0, { timeout: 1000 });
 *   handle(items.shift());
 * });
 * // producer
 * await cond.use(() => {
 *   items.push(item);
 *   cond.notify();
 * });
 */
export class Condition {
  readonly #lock: Lock;
  readonly #clock: Clock;
  readonly #waiters: WaitQueue<void>;

  /** @param lock The lock to use; several conditions may share one. @default a new Lock */
  constructor(lock?: Lock, options: ConditionOptions = {}) {
    if (lock !== undefined && !(lock instanceof Lock)) throw new InvalidArgumentError('Expected `lock` to be a Lock');
    this.#clock = options.clock ?? getClock();
    this.#lock = lock ?? new Lock({ clock: this.#clock });
    this.#waiters = new WaitQueue<void>(this, 'condition', 'Condition.wait()', this.#clock);
  }

  /** Whether the lock is held. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /** Takes the lock (see `Lock.acquire`). */
  acquire(options?: WaitOptions): Promise<Permit> {
    return this.#lock.acquire(options);
  }

  /** Takes the lock if it is free; true if it did. */
  tryAcquire(): boolean {
    return this.#lock.tryAcquire();
  }

  /** Releases the lock. Throws `ReleaseError` if unlocked. */
  release(): void {
    this.#lock.release();
  }

  /** Runs `fn` holding the lock and releases it however `fn` ends. */
  use<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return this.#lock.use(fn, options);
  }

  /**
   * Releases the lock, waits for a notification, then re-acquires the lock. Returns, or rejects
   * (`signal.reason` on abort, `TimeoutError` after `timeout` ms), only once the lock is held
   * again; `timeout` bounds the wait for the notification, not the re-acquire.
   */
  async wait(options?: WaitOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    let timeout: number | undefined;
    if (options !== undefined) {
      checkWaitOptions(options);
      signal = options.signal;
      timeout = options.timeout;
    }
    if (!this.#lock.locked()) throw new ReleaseError('Condition.wait() needs the lock held');
    if (signal?.aborted) throw signal.reason;
    this.#lock.release();
    let failed = false;
    let error: unknown;
    try {
      await this.#waiters.wait(signal, timeout);
    } catch (e) {
      failed = true;
      error = e;
    }
    // The permit is dropped on purpose: the caller's own permit (or release()) gives the lock back.
    await this.#lock.acquire();
    if (failed) throw error;
    if (signal?.aborted) {
      this.#notify(1);
      throw signal.reason;
    }
  }

  /**
   * Waits until `predicate()` returns a truthy value and returns it, checking it first and after
   * each notification, with the lock held. `timeout` is a deadline for the whole call.
   */
  async waitFor<T>(predicate: () => T, options?: WaitOptions): Promise<T> {
    checkFunction('predicate', predicate);
    let signal: AbortSignal | undefined;
    let deadline = Infinity;
    if (options !== undefined) {
      checkWaitOptions(options);
      signal = options.signal;
      if (options.timeout !== undefined) deadline = this.#clock.now() + options.timeout;
    }
    if (!this.#lock.locked()) throw new ReleaseError('Condition.waitFor() needs the lock held');
    let result = predicate();
    while (!result) {
      const remaining = deadline - this.#clock.now();
      if (remaining <= 0 && deadline !== Infinity) throw new TimeoutError('Condition.waitFor() timed out');
      await this.wait({ signal, timeout: deadline === Infinity ? undefined : remaining });
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` tasks waiting in `wait()`, longest-waiting first. Needs the lock held. */
  notify(n = 1): void {
    checkInteger('n', n, 0, true);
    if (!this.#lock.locked()) throw new ReleaseError('Condition.notify() needs the lock held');
    this.#notify(n);
  }

  /** Wakes every task waiting in `wait()`. Needs the lock held. */
  notifyAll(): void {
    this.notify(Infinity);
  }

  /** A snapshot of the condition's counters. */
  stats(): ConditionStats {
    const lock = this.#lock.stats();
    return { locked: lock.locked, waiting: this.#waiters.length, lock };
  }

  #notify(n: number): void {
    for (let i = 0; i < n && this.#waiters.resolveFirst(); i++);
  }
}

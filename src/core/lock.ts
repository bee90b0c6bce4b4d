import { type Permit, type SemaphoreOptions, type WaitOptions, type Semaphore, lockSemaphore } from './semaphore.ts';

/** Options of `Lock`. */
export type LockOptions = SemaphoreOptions;

/** A snapshot of a lock. */
export interface LockStats {
  /** Whether the lock is held (or being handed to a waiter). */
  locked: boolean;
  /** Live waiters (cancelled and timed-out ones are not counted). */
  waiting: number;
}

/**
 * A mutual-exclusion lock (asyncio.Lock), served FIFO with no barging. Not re-entrant and not
 * owned: any code may `release()` it, but releasing it while unlocked throws `ReleaseError`.
 * Same shape as `Semaphore`: `acquire()` resolves to a disposable Permit; `tryAcquire()` is a
 * boolean.
 *
 * @example
 * const lock = new Lock();
 * {
 *   using _ = await lock.acquire({ timeout: 5000 }); // TimeoutError rather than a deadlock
 *   await updateSharedState();
 * }
 */
export class Lock {
  readonly #sem: Semaphore;

  constructor(options: LockOptions = {}) {
    this.#sem = lockSemaphore(this, options);
  }

  /** Whether the lock is held. */
  locked(): boolean {
    return this.#sem.locked();
  }

  /**
   * Takes the lock, waiting in FIFO order. Rejects with `signal.reason` on abort, `TimeoutError`
   * after `timeout` ms; a waiter that gives up holds nothing.
   */
  acquire(options?: WaitOptions): Promise<Permit> {
    return this.#sem.acquire(options);
  }

  /** Takes the lock if it is free; true if it did. Give it back with `release()`. */
  tryAcquire(): boolean {
    return this.#sem.tryAcquire();
  }

  /** Releases the lock, handing it to the first live waiter if any. Throws `ReleaseError` if unlocked. */
  release(): void {
    this.#sem.release();
  }

  /** Runs `fn` holding the lock and releases it however `fn` ends. */
  use<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    return this.#sem.use(fn, options);
  }

  /** A snapshot of the lock's counters. */
  stats(): LockStats {
    const { locked, waiting } = this.#sem.stats();
    return { locked, waiting };
  }
}

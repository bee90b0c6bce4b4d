// Counting semaphores with asyncio 3.11 semantics, FIFO-fair.
//
// Design: `release()` hands its unit straight to the first live waiter (the count never rises
// while anyone waits), so there is no barging: a `tryAcquire()` or an uncontended `acquire()`
// cannot overtake a queued waiter. Invariant: `#queue.length > 0` ⇒ `#value === 0`.
//
// Waiters sit in a `WaitQueue` (a Deque with lazy deletion): a cancelled or timed-out waiter is
// marked dead and skipped when reached, and the deque is compacted when dead entries outnumber
// live ones, so a lock held forever with timing-out acquirers does not grow without bound.
//
// The hand-off race (asyncio's "fut done but we were cancelled"): a unit granted to a waiter
// whose signal aborts before its `acquire()` continuation runs is released again, so it passes on
// to the next waiter instead of being lost in a rejected call.
//
// The uncontended path allocates the Permit and one resolved Promise: a Permit must be a distinct
// object for its `release()` to be idempotent.
import { type Clock, type Timer, getClock } from './clock.ts';
import { Deque } from './deque.ts';
import { channels } from './diagnostics.ts';
import { ReleaseError, TimeoutError } from './errors.ts';
import { onAbort } from './signals.ts';
import { checkInteger, checkNonNegative, checkSignal } from './validate.ts';

/** Options of every wait on a synchronisation primitive. */
export interface WaitOptions {
  /** Gives up waiting, rejecting with `signal.reason`. An already-aborted signal rejects at once. */
  signal?: AbortSignal | undefined;
  /**
   * Gives up waiting after this many milliseconds, rejecting with `TimeoutError`.
   * @default Infinity
   */
  timeout?: number | undefined;
}

/** Options of `Semaphore`, `BoundedSemaphore` and `Lock`. */
export interface SemaphoreOptions {
  /** Where `timeout`s are measured. @default the default clock (see `setDefaultClock`) */
  clock?: Clock | undefined;
}

/** A snapshot of a semaphore. */
export interface SemaphoreStats {
  /** Units free now. */
  value: number;
  /** Live waiters (cancelled and timed-out ones are not counted). */
  waiting: number;
  /** Whether an `acquire()` would wait. */
  locked: boolean;
}

/** Checks the options of a wait; throws InvalidArgumentError. */
export function checkWaitOptions(options: WaitOptions): void {
  checkSignal(options.signal);
  if (options.timeout !== undefined) checkNonNegative('timeout', options.timeout, true);
}

/**
 * One unit held from a semaphore or lock. `release()` gives it back; releasing a permit twice
 * releases once. Disposable, so `using _ = await sem.acquire()` releases at the end of the scope.
 */
export class Permit implements Disposable {
  #owner: { release(): void } | undefined;

  /** @internal Permits come from `acquire()`. */
  constructor(owner: { release(): void }) {
    this.#owner = owner;
  }

  /** Whether this permit has been released. */
  get released(): boolean {
    return this.#owner === undefined;
  }

  /** Gives the unit back (once; later calls do nothing). */
  release(): void {
    const owner = this.#owner;
    if (owner === undefined) return;
    this.#owner = undefined;
    owner.release();
  }

  /** Same as `release()`. */
  [Symbol.dispose](): void {
    this.release();
  }
}

// One object per wait, holding the promise's resolvers directly (no withResolvers record): a
// million queued waiters is the benchmark's normal case, so every object per wait counts.
class Waiter<T> {
  live = true;
  timer: Timer | undefined = undefined;
  unlink: (() => void) | undefined = undefined;
  resolve!: (value: T) => void;
  reject!: (reason: unknown) => void;
}

/**
 * @internal The FIFO of waiters shared by the synchronisation primitives: each wait has its own
 * promise, abort listener and timer, all removed when it settles.
 */
export class WaitQueue<T> {
  readonly #deque = new Deque<Waiter<T> | ((value: T) => void)>();
  readonly #clock: Clock;
  #live = 0;
  /** The `primitive` and `kind` published on `channels.waitStart`. */
  owner: object;
  kind: string;
  /** Names the wait in TimeoutError messages, e.g. `Semaphore.acquire()`. */
  label: string;
  /** Called after a waiter gave up (abort or timeout) and left the queue. */
  onCancel: (() => void) | undefined = undefined;

  constructor(owner: object, kind: string, label: string, clock: Clock) {
    this.owner = owner;
    this.kind = kind;
    this.label = label;
    this.#clock = clock;
  }

  /** Live waiters. */
  get length(): number {
    return this.#live;
  }

  /** Queues a waiter; the caller has checked that `signal` has not aborted. */
  wait(signal: AbortSignal | undefined, timeout: number | undefined): Promise<T> {
    const waiter = new Waiter<T>();
    const promise = new Promise<T>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    this.#deque.push(waiter);
    this.#live++;
    if (timeout !== undefined && timeout !== Infinity) {
      waiter.timer = this.#clock.setTimer(timeout, () => {
        this.#cancel(waiter, new TimeoutError(`${this.label} timed out after ${timeout} ms`));
      });
    }
    if (signal !== undefined) waiter.unlink = onAbort(signal, (reason) => this.#cancel(waiter, reason));
    if (channels.waitStart.hasSubscribers) channels.waitStart.publish({ primitive: this.owner, kind: this.kind });
    return promise;
  }

  /**
   * A wait with no signal and no timeout: just a resolver in the queue, nothing else allocated.
   * It cannot be rejected, so only queues that never `rejectAll()` may use it (Semaphore).
   */
  waitPlain(): Promise<T> {
    this.#live++;
    if (channels.waitStart.hasSubscribers) channels.waitStart.publish({ primitive: this.owner, kind: this.kind });
    return new Promise<T>((resolve) => this.#deque.push(resolve));
  }

  /** Resolves the first live waiter with `value`; false when nobody waits. */
  resolveFirst(value: T): boolean {
    for (;;) {
      const waiter = this.#deque.shift();
      if (waiter === undefined) return false;
      if (typeof waiter === 'function') {
        this.#live--;
        waiter(value);
        return true;
      }
      if (!waiter.live) continue;
      this.#settle(waiter);
      waiter.resolve(value);
      return true;
    }
  }

  /** Resolves every live waiter with `value`, in FIFO order. */
  resolveAll(value: T): void {
    while (this.resolveFirst(value));
  }

  /** Rejects every live waiter with `error`, in FIFO order. */
  rejectAll(error: unknown): void {
    for (let waiter = this.#deque.shift(); waiter !== undefined; waiter = this.#deque.shift()) {
      if (typeof waiter === 'function') throw new Error('internal: rejectAll() on a queue with plain waiters');
      if (!waiter.live) continue;
      this.#settle(waiter);
      waiter.reject(error);
    }
  }

  #settle(waiter: Waiter<T>): void {
    waiter.live = false;
    this.#live--;
    waiter.timer?.clear();
    waiter.unlink?.();
  }

  #cancel(waiter: Waiter<T>, reason: unknown): void {
    if (!waiter.live) return;
    this.#settle(waiter);
    waiter.reject(reason);
    const deque = this.#deque;
    if (deque.length >= 32 && this.#live * 2 < deque.length) {
      for (let i = deque.length; i > 0; i--) {
        const w = deque.shift()!;
        if (typeof w === 'function' || w.live) deque.push(w);
      }
    }
    this.onCancel?.();
  }
}

// Set from Semaphore's static block: lets BoundedSemaphore and Lock reuse the engine under their
// own bound and name without a public `bound` option or a protected field.
let configure: (sem: Semaphore, bound: number, kind: 'BoundedSemaphore' | 'Lock', owner?: object) => void;

/**
 * A counting semaphore (asyncio.Semaphore): at most `value` holders at once, served FIFO.
 * `release()` may raise the count above its initial value; use `BoundedSemaphore` to forbid that.
 *
 * `tryAcquire()` returns a boolean (as every lock-like here): a unit taken that way is given back
 * with `release()`.
 *
 * @example
 * const sem = new Semaphore(10);
 * await Promise.all(urls.map((url) => sem.use(() => fetch(url))));
 * // or, holding a unit for a scope:
 * using _ = await sem.acquire({ timeout: 5000 });
 */
export class Semaphore {
  #value: number;
  #bound = Infinity;
  #kind: 'Semaphore' | 'BoundedSemaphore' | 'Lock' = 'Semaphore';
  readonly #queue: WaitQueue<void>;

  static {
    configure = (sem, bound, kind, owner) => {
      sem.#bound = bound;
      sem.#kind = kind;
      sem.#queue.label = `${kind}.acquire()`;
      if (kind === 'Lock') sem.#queue.kind = 'lock';
      if (owner !== undefined) sem.#queue.owner = owner;
    };
  }

  /**
   * @param value Units available at first: an integer ≥ 0, or Infinity. @default 1
   */
  constructor(value = 1, options: SemaphoreOptions = {}) {
    checkInteger('value', value, 0, true);
    this.#value = value;
    this.#queue = new WaitQueue<void>(this, 'semaphore', 'Semaphore.acquire()', options.clock ?? getClock());
  }

  /** Units free now (0 while anyone waits). */
  get value(): number {
    return this.#value;
  }

  /** Whether an `acquire()` would wait. */
  locked(): boolean {
    return this.#value === 0;
  }

  /**
   * Takes a unit, waiting in FIFO order while none is free. Resolves to a Permit to release
   * (or dispose); rejects with `signal.reason` on abort, `TimeoutError` after `timeout` ms.
   */
  acquire(options?: WaitOptions): Promise<Permit> {
    let signal: AbortSignal | undefined;
    let timeout: number | undefined;
    if (options !== undefined) {
      checkWaitOptions(options);
      signal = options.signal;
      timeout = options.timeout;
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (this.#value > 0) {
      this.#value--;
      return Promise.resolve(new Permit(this));
    }
    return this.#wait(signal, timeout).then(() => new Permit(this));
  }

  /** Takes a unit if one is free and nobody waits; true if it did. Give it back with `release()`. */
  tryAcquire(): boolean {
    if (this.#value === 0) return false;
    this.#value--;
    return true;
  }

  /** Gives a unit back: to the first live waiter if any, else to the count. */
  release(): void {
    // Waiters are handed the unit itself (the count stays 0): no barging past the queue.
    if (this.#queue.length > 0 && this.#queue.resolveFirst(undefined)) return;
    if (this.#value + 1 > this.#bound) {
      throw new ReleaseError(this.#kind === 'Lock' ? 'Lock is not acquired' : `BoundedSemaphore released above its initial value (${this.#bound})`);
    }
    this.#value++;
  }

  /**
   * Runs `fn` holding a unit and releases it however `fn` ends. The options bound the wait for
   * the unit, not `fn`.
   */
  async use<T>(fn: () => T | PromiseLike<T>, options?: WaitOptions): Promise<T> {
    // The hot path of "run this under a limit": no Permit, one promise only when it must wait.
    if (options !== undefined) {
      checkWaitOptions(options);
      if (options.signal?.aborted) throw options.signal.reason;
    }
    if (this.#value > 0) this.#value--;
    else await this.#wait(options?.signal, options?.timeout);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** A snapshot of the semaphore's counters. */
  stats(): SemaphoreStats {
    return { value: this.#value, waiting: this.#queue.length, locked: this.#value === 0 };
  }

  /** Waits for a unit handed over by `release()`. */
  #wait(signal: AbortSignal | undefined, timeout: number | undefined): Promise<void> {
    // Without a signal there is no hand-off race to guard, so no extra async frame.
    if (signal === undefined) return timeout === undefined || timeout === Infinity ? this.#queue.waitPlain() : this.#queue.wait(undefined, timeout);
    return this.#waitGuarded(signal, timeout);
  }

  async #waitGuarded(signal: AbortSignal, timeout: number | undefined): Promise<void> {
    await this.#queue.wait(signal, timeout);
    // Handed a unit in the same turn the signal aborted: pass it on rather than lose it.
    if (signal.aborted) {
      this.release();
      throw signal.reason;
    }
  }
}

/**
 * A semaphore whose `release()` throws `ReleaseError` rather than raise the count above its
 * initial value (asyncio.BoundedSemaphore), which catches a release without an acquire.
 *
 * @example
 * const sem = new BoundedSemaphore(2);
 * sem.release(); // throws ReleaseError
 */
export class BoundedSemaphore extends Semaphore {
  /** @param value Units available at first and the most there can be. @default 1 */
  constructor(value = 1, options: SemaphoreOptions = {}) {
    super(value, options);
    configure(this, value, 'BoundedSemaphore');
  }
}

/** @internal The engine of `Lock`: a BoundedSemaphore(1) that names itself `Lock` in errors. */
export function lockSemaphore(lock: object, options: SemaphoreOptions): Semaphore {
  const sem = new Semaphore(1, options);
  configure(sem, 1, 'Lock', lock);
  return sem;
}


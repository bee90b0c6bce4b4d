// Waits without a signal or timeout cannot give up, so they all share one promise (one
// allocation however many wait); waits that can give up each have a waiter in the WaitQueue.
import { type Clock, getClock } from './clock.ts';
import { checkWaitOptions, type WaitOptions, WaitQueue } from './semaphore.ts';

/** Options of `Event`. */
export interface EventOptions {
  /** Where `timeout`s are measured. @default the default clock (see `setDefaultClock`) */
  clock?: Clock | undefined;
}

/** A snapshot of an event. */
export interface EventStats {
  set: boolean;
  /** Waits still pending (those that gave up are not counted). */
  waiting: number;
}

/**
 * A flag tasks can wait on (asyncio.Event): `set()` wakes every waiter, and `wait()` resolves at
 * once while the flag is set, until `clear()`.
 *
 * @example
 * const ready = new Event();
 * setTimeout(() => ready.set(), 100);
 * await ready.wait({ timeout: 1000 });
 */
export class Event {
  #set = false;
  #shared: PromiseWithResolvers<void> | undefined = undefined;
  #sharedWaiting = 0;
  readonly #queue: WaitQueue<void>;

  constructor(options: EventOptions = {}) {
    this.#queue = new WaitQueue<void>(this, 'event', 'Event.wait()', options.clock ?? getClock());
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return this.#set;
  }

  /**
   * Resolves once the flag is set (at once if it is). Rejects with `signal.reason` on abort,
   * `TimeoutError` after `timeout` ms.
   */
  wait(options?: WaitOptions): Promise<void> {
    let signal: AbortSignal | undefined;
    let timeout: number | undefined;
    if (options !== undefined) {
      checkWaitOptions(options);
      signal = options.signal;
      timeout = options.timeout;
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (this.#set) return Promise.resolve();
    if (signal === undefined && (timeout === undefined || timeout === Infinity)) {
      this.#shared ??= Promise.withResolvers<void>();
      this.#sharedWaiting++;
      return this.#shared.promise;
    }
    return this.#queue.wait(signal, timeout);
  }

  /** Sets the flag and wakes every waiter. Does nothing if already set. */
  set(): void {
    if (this.#set) return;
    this.#set = true;
    const shared = this.#shared;
    this.#shared = undefined;
    this.#sharedWaiting = 0;
    shared?.resolve();
    this.#queue.resolveAll();
  }

  /** Clears the flag: later `wait()`s wait for the next `set()`. */
  clear(): void {
    this.#set = false;
  }

  /** A snapshot of the event's counters. */
  stats(): EventStats {
    return { set: this.#set, waiting: this.#queue.length + this.#sharedWaiting };
  }
}

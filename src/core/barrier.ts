// A cyclic barrier. asyncio's Barrier has "draining" and "resetting" phases because its woken
// waiters must re-take a lock one by one; here the last arrival resolves every waiter at once,
// so the barrier is ready for its next cycle immediately and has only two states: filling or
// broken. A waiter that gives up (abort or timeout) breaks the barrier, as threading.Barrier
// does on timeout: the parties still waiting would otherwise wait for someone who left.
import { type Clock, getClock } from './clock.ts';
import { BrokenBarrierError } from './errors.ts';
import { checkWaitOptions, type WaitOptions, WaitQueue } from './semaphore.ts';
import { checkInteger } from './validate.ts';

/** Options of `Barrier`. */
export interface BarrierOptions {
  /** Where `timeout`s are measured. @default the default clock (see `setDefaultClock`) */
  clock?: Clock | undefined;
}

/** A snapshot of a barrier. */
export interface BarrierStats {
  parties: number;
  /** Parties waiting in the current cycle. */
  waiting: number;
  broken: boolean;
}

/**
 * Lets `parties` tasks wait until all of them have arrived (asyncio.Barrier), then releases them
 * together and starts a new cycle. `wait()` resolves to the arrival index, 0 to `parties - 1`.
 * Once broken (by `abort()` or a waiter giving up) every `wait()` rejects with
 * `BrokenBarrierError` until `reset()`.
 *
 * @example
 * const barrier = new Barrier(3);
 * await Promise.all([0, 1, 2].map(async (i) => {
 *   await load(i);
 *   await barrier.wait({ timeout: 5000 }); // all loaded before any starts
 *   await start(i);
 * }));
 */
export class Barrier {
  /** Parties needed to pass the barrier. */
  readonly parties: number;
  #count = 0;
  #broken = false;
  readonly #queue: WaitQueue<void>;

  /** @param parties An integer ≥ 1. */
  constructor(parties: number, options: BarrierOptions = {}) {
    checkInteger('parties', parties, 1);
    this.parties = parties;
    this.#queue = new WaitQueue<void>(this, 'barrier', 'Barrier.wait()', options.clock ?? getClock());
    this.#queue.onCancel = () => this.#break(new BrokenBarrierError('A party gave up waiting at the barrier'));
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Parties waiting in the current cycle. */
  get nWaiting(): number {
    return this.#count;
  }

  /**
   * Waits until `parties` tasks are waiting, then resolves them all with their arrival index.
   * Rejects with `BrokenBarrierError` if the barrier is or becomes broken or reset, with
   * `signal.reason` on abort and `TimeoutError` after `timeout` ms (both break the barrier).
   */
  wait(options?: WaitOptions): Promise<number> {
    let signal: AbortSignal | undefined;
    let timeout: number | undefined;
    if (options !== undefined) {
      checkWaitOptions(options);
      signal = options.signal;
      timeout = options.timeout;
      if (signal?.aborted) return Promise.reject(signal.reason);
    }
    if (this.#broken) return Promise.reject(new BrokenBarrierError());
    const index = this.#count++;
    if (this.#count === this.parties) {
      this.#count = 0;
      this.#queue.resolveAll();
      return Promise.resolve(index);
    }
    return this.#queue.wait(signal, timeout).then(() => index);
  }

  /** Rejects the current waiters with `BrokenBarrierError` and makes the barrier usable again. */
  reset(): void {
    this.#broken = false;
    this.#count = 0;
    this.#queue.rejectAll(new BrokenBarrierError('Barrier was reset'));
  }

  /** Breaks the barrier: current and later waiters reject with `BrokenBarrierError` until `reset()`. */
  abort(): void {
    this.#break(new BrokenBarrierError('Barrier was aborted'));
  }

  /** A snapshot of the barrier's counters. */
  stats(): BarrierStats {
    return { parties: this.parties, waiting: this.#count, broken: this.#broken };
  }

  #break(error: BrokenBarrierError): void {
    this.#broken = true;
    this.#count = 0;
    this.#queue.rejectAll(error);
  }
}

// A concurrency limit that can be resized while in use (the adaptive controller moves it).
//
// Invariant: waiters exist only while `inFlight >= limit`. Shrinking never interrupts holders:
// `inFlight` may exceed `limit` until enough of them release. Cancelled waiters are marked dead
// and skipped (lazy deletion).
import { Deque } from '../core/deque.ts';
import { checkInteger } from '../core/validate.ts';
import { onAbort } from '../core/signals.ts';

interface Waiter {
  resolve: () => void;
  live: boolean;
}

/**
 * A counting limit whose size can change at any time.
 *
 * @example
 * const limit = new ResizableLimit(4);
 * await limit.acquire();
 * try { await work() } finally { limit.release() }
 * limit.resize(8);
 */
export class ResizableLimit {
  #limit: number;
  #inFlight = 0;
  readonly #waiters = new Deque<Waiter>();
  #live = 0;

  constructor(limit: number) {
    this.#limit = checkInteger('limit', limit, 1);
  }

  get limit(): number {
    return this.#limit;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Live waiters. */
  get waiting(): number {
    return this.#live;
  }

  /** Waits for a unit; rejects with `signal.reason` on abort, leaving nothing behind. */
  acquire(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#inFlight < this.#limit && this.#live === 0) {
      this.#inFlight++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve: () => {}, live: true };
      const unlink = onAbort(signal, (reason) => {
        if (!waiter.live) return;
        waiter.live = false;
        this.#live--;
        reject(reason);
      });
      waiter.resolve = () => {
        unlink();
        resolve();
      };
      this.#waiters.push(waiter);
      this.#live++;
    });
  }

  /** Gives back a slot taken with `acquire`. */
  release(): void {
    this.#inFlight--;
    this.#drain();
  }

  /** Sets the limit (≥ 1). Growing wakes waiters at once; shrinking takes effect as holders release. */
  resize(limit: number): void {
    this.#limit = checkInteger('limit', limit, 1);
    this.#drain();
  }

  #drain(): void {
    while (this.#inFlight < this.#limit && this.#waiters.length > 0) {
      const waiter = this.#waiters.shift()!;
      if (!waiter.live) continue;
      waiter.live = false;
      this.#live--;
      this.#inFlight++;
      waiter.resolve();
    }
  }
}

// A bounded FIFO between two stages. Built for throughput: `offer`/`take` are synchronous and
// allocate nothing, and only a full (or empty) channel costs a promise. Backpressure is the bound:
// a writer that finds it full waits in `writable()` until readers have taken it down to half.
//
// Invariants: readers wait only while the channel is empty and open; writers only while it is
// full. `close()` lets the readers drain what is left; `abort(reason)` rejects every waiter.
import { Deque } from '../core/deque.ts';

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
}

export class Channel<T> {
  readonly capacity: number;
  readonly #items = new Deque<T>();
  readonly #readers = new Deque<Waiter>();
  readonly #writers = new Deque<Waiter>();
  #closed = false;
  #aborted = false;
  #reason: unknown;

  readonly #lowWater: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#lowWater = Math.floor(capacity / 2);
  }

  get length(): number {
    return this.#items.length;
  }

  /** Closed and empty: nothing more will come. */
  get done(): boolean {
    return this.#closed && this.#items.length === 0;
  }

  /** Adds `item` if there is room; `false` when full (then wait on `writable()`). */
  offer(item: T): boolean {
    if (this.#aborted) throw this.#reason;
    if (this.#items.length >= this.capacity) return false;
    this.#items.push(item);
    if (this.#readers.length > 0) this.#readers.shift()!.resolve();
    return true;
  }

  /** Adds `item`, waiting for room. */
  async push(item: T): Promise<void> {
    while (!this.offer(item)) await this.writable();
  }

  /** The next item, or `undefined` when empty (then wait on `readable()` unless `done`). */
  take(): T | undefined {
    const item = this.#items.shift();
    // Writers are woken at half-empty, all at once, so they refill in a burst rather than one
    // promise per item (a full channel would otherwise ping-pong on every take).
    if (this.#writers.length > 0 && this.#items.length <= this.#lowWater) {
      for (let w = this.#writers.shift(); w; w = this.#writers.shift()) w.resolve();
    }
    return item;
  }

  /** Resolves when an item may be there, the channel closes, or `wake()` is called. */
  readable(): Promise<void> {
    if (this.#aborted) return Promise.reject(this.#reason);
    if (this.#items.length > 0 || this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => this.#readers.push({ resolve, reject }));
  }

  /** Resolves when there may be room. */
  writable(): Promise<void> {
    if (this.#aborted) return Promise.reject(this.#reason);
    if (this.#items.length < this.capacity) return Promise.resolve();
    return new Promise((resolve, reject) => this.#writers.push({ resolve, reject }));
  }

  /** Wakes every waiting reader (a batch timer, a scale-down). */
  wake(): void {
    for (let w = this.#readers.shift(); w; w = this.#readers.shift()) w.resolve();
  }

  close(): void {
    this.#closed = true;
    this.wake();
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#closed = true;
    this.#items.clear();
    for (let w = this.#readers.shift(); w; w = this.#readers.shift()) w.reject(reason);
    for (let w = this.#writers.shift(); w; w = this.#writers.shift()) w.reject(reason);
  }
}

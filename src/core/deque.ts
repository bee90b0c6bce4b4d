// A double-ended queue on a growable ring buffer: O(1) push/shift/unshift/pop with no per-item
// allocation, unlike Array#shift which is O(n) once an array leaves V8's fast path.
//
//   buffer: [ . . h x x x x t . . ]   h = #head, t = (#head + #length) & #mask
//
// Capacity is always a power of two so an index wraps with a mask. Vacated slots are set to
// undefined so the deque never keeps a removed item alive.

/** A double-ended queue on a growable ring buffer: O(1) at both ends (an array's `shift` is O(n)). */
export class Deque<T> {
  #buffer: (T | undefined)[];
  #mask: number;
  #head = 0;
  #length = 0;

  constructor(initialCapacity = 16) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.#buffer = new Array<T | undefined>(capacity);
    this.#mask = capacity - 1;
  }

  get length(): number {
    return this.#length;
  }

  /** Adds at the back. */
  push(item: T): void {
    if (this.#length === this.#buffer.length) this.#grow();
    this.#buffer[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Adds at the front. */
  unshift(item: T): void {
    if (this.#length === this.#buffer.length) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#buffer[this.#head] = item;
    this.#length++;
  }

  /** Removes and returns the front item (`undefined` when empty). */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#buffer[this.#head];
    this.#buffer[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Removes and returns the back item (`undefined` when empty). */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    const index = (this.#head + this.#length - 1) & this.#mask;
    const item = this.#buffer[index];
    this.#buffer[index] = undefined;
    this.#length--;
    return item;
  }

  /** The front item, left in place. */
  peekFirst(): T | undefined {
    return this.#length === 0 ? undefined : this.#buffer[this.#head];
  }

  /** The back item, left in place. */
  peekLast(): T | undefined {
    return this.#length === 0 ? undefined : this.#buffer[(this.#head + this.#length - 1) & this.#mask];
  }

  /** Removes every item. */
  clear(): void {
    this.#buffer = new Array<T | undefined>(16);
    this.#mask = 15;
    this.#head = 0;
    this.#length = 0;
  }

  /** The items from front to back. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#buffer[(this.#head + i) & this.#mask] as T;
  }

  #grow(): void {
    const old = this.#buffer;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#buffer = next;
    this.#mask = next.length - 1;
    this.#head = 0;
  }
}

// asyncio.PriorityQueue: the Queue's waiting machinery over a binary min-heap.
//
// The heap keeps items and their insertion numbers in two parallel arrays (no object per item)
// and orders by (compare(item), insertion number), so equal items come out first in, first out.
// Each operation runs its comparisons before it moves anything, so a `compare` that throws
// leaves the heap as it was.
import { checkFunction } from './validate.ts';
import { Queue, type QueueOptions, type QueueStorage } from './queue.ts';

/** Options of `PriorityQueue`. */
export interface PriorityQueueOptions<T> extends QueueOptions {
  /**
   * Orders items: negative when `a` comes out before `b`, positive when after, 0 for a tie
   * (ties come out in insertion order).
   * @default defaultCompare (numbers, strings and `[priority, …]` tuples, as Python orders them)
   */
  compare?: ((a: T, b: T) => number) | undefined;
}

/**
 * The order a `PriorityQueue` uses when given no `compare`, close to Python's: numbers (and
 * bigints, booleans) by value; strings by UTF-16 code unit; arrays element by element, a prefix
 * first, like tuples. Python raises on values it cannot order; this never throws, so the order
 * stays total: numbers < strings < arrays < anything else, `NaN` after every other number, and
 * all other values (objects, null, undefined) tie. That is why `[priority, payload]` works with
 * any payload: equal priorities come out first in, first out.
 */
export function defaultCompare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return compareNumbers(a, b);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return compareNumbers(numeric(a), numeric(b));
    case 1:
      return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
    case 2: {
      const x = a as readonly unknown[];
      const y = b as readonly unknown[];
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const c = defaultCompare(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default:
      return 0;
  }
}

function rank(value: unknown): number {
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'boolean':
      return 0;
    case 'string':
      return 1;
    default:
      return Array.isArray(value) ? 2 : 3;
  }
}

function numeric(value: unknown): number | bigint {
  return typeof value === 'boolean' ? Number(value) : (value as number | bigint);
}

function compareNumbers(a: number | bigint, b: number | bigint): number {
  if (a < b) return -1;
  if (a > b) return 1;
  // Equal, or NaN involved: NaN ties with NaN and sorts after every other number.
  const aNaN = a !== a;
  const bNaN = b !== b;
  return aNaN === bNaN ? 0 : aNaN ? 1 : -1;
}

class Heap<T> implements QueueStorage<T> {
  readonly #compare: (a: T, b: T) => number;
  #items: T[] = [];
  #seqs: number[] = [];
  #seq = 0;

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    const seqs = this.#seqs;
    // Find the slot first (a newer item loses every tie), then move the path down.
    let slot = items.length;
    while (slot > 0) {
      const parent = (slot - 1) >> 1;
      if (this.#compare(item, items[parent] as T) >= 0) break;
      slot = parent;
    }
    const seq = this.#seq++;
    let i = items.length;
    items.push(item);
    seqs.push(seq);
    while (i > slot) {
      const parent = (i - 1) >> 1;
      items[i] = items[parent] as T;
      seqs[i] = seqs[parent] as number;
      i = parent;
    }
    items[slot] = item;
    seqs[slot] = seq;
  }

  shift(): T | undefined {
    const items = this.#items;
    const seqs = this.#seqs;
    const n = items.length;
    if (n === 0) return undefined;
    const top = items[0];
    const size = n - 1;
    if (size === 0) {
      items.pop();
      seqs.pop();
      return top;
    }
    const last = items[size] as T;
    const lastSeq = seqs[size] as number;
    // Find where `last` settles (the hole's final index) without moving anything.
    let hole = 0;
    for (;;) {
      let child = 2 * hole + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && this.#before(right, child)) child = right;
      const c = this.#compare(items[child] as T, last);
      if (c > 0 || (c === 0 && (seqs[child] as number) > lastSeq)) break;
      hole = child;
    }
    items.pop();
    seqs.pop();
    // Move each ancestor of the hole up one level, top down. With 1-based m = hole + 1, the
    // ancestor at depth d is (m >> (depth - d)) - 1.
    const m = hole + 1;
    const depth = 31 - Math.clz32(m);
    for (let d = 1; d <= depth; d++) {
      const to = (m >> (depth - d + 1)) - 1;
      const from = (m >> (depth - d)) - 1;
      items[to] = items[from] as T;
      seqs[to] = seqs[from] as number;
    }
    items[hole] = last;
    seqs[hole] = lastSeq;
    return top;
  }

  clear(): void {
    this.#items = [];
    this.#seqs = [];
  }

  #before(i: number, j: number): boolean {
    const c = this.#compare(this.#items[i] as T, this.#items[j] as T);
    return c < 0 || (c === 0 && (this.#seqs[i] as number) < (this.#seqs[j] as number));
  }
}

/**
 * An async priority queue (asyncio.PriorityQueue): `get` returns the smallest item first, equal
 * items in the order they were put. Same API as `Queue` (waiting, backpressure, `join`,
 * `shutdown`), which it extends.
 *
 * @example
 * const jobs = new PriorityQueue<[number, string]>();
 * await jobs.put([2, 'later']);
 * await jobs.put([1, 'first']);
 * await jobs.put([2, 'last']);
 * await jobs.get(); // [1, 'first'], then [2, 'later'], then [2, 'last']
 */
export class PriorityQueue<T> extends Queue<T> {
  constructor(options: PriorityQueueOptions<T> = {}) {
    const { compare = defaultCompare } = options;
    checkFunction('compare', compare);
    super(options, new Heap<T>(compare));
  }
}

// Concurrent map over a (possibly huge, possibly async) iterable with bounded memory.
//
// The input is pulled lazily, one item at a time, only while both bounds hold:
//   inFlight < concurrency                 calls of `fn` running
//   started - yielded < 2 * concurrency    items taken from the input and not yet handed out
//                                          (2 * concurrency capped at 2^20, for concurrency: Infinity)
// The second bound caps what waits for the consumer: finished results in completion order, or,
// with `ordered`, results parked behind a slow head item. So memory is O(concurrency) whatever
// the input size or the consumer's speed. In ordered mode the parked results live in a ring of
// 2 * concurrency slots indexed by `index % size`: the live indices [yielded, started) never
// span more than the ring, so two of them never share a slot.
//
// All calls share one AbortController: a failure, an outer abort or the consumer leaving aborts
// it once, cancelling everything in flight, instead of one controller per item. The loop ends
// (the error is thrown, or `return()` resolves) only after the calls in flight have settled, and
// the input iterator is closed with `return()` unless it ended or threw on its own. A pull
// pending on an async input is not waited for: `return()` is called without awaiting it.
//
// Per item: one context object, the async call frame of `#run`, and an IteratorResult.
import { Deque } from './deque.ts';
import { CancelledError, InvalidArgumentError } from './errors.ts';
import { onAbort } from './signals.ts';
import { checkFunction, checkInteger, checkSignal } from './validate.ts';

/** Options of `map`. */
export interface MapOptions {
  /** Most calls of `fn` running at once (≥ 1, or Infinity). */
  concurrency: number;
  /** Aborting it cancels the calls in flight and the loop throws `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** Yield results in input order instead of completion order. @default false */
  ordered?: boolean | undefined;
}

/** What `fn` receives next to its item. */
export interface MapContext {
  /** Aborts when the map fails, is aborted, or the consumer stops iterating. */
  readonly signal: AbortSignal;
  /** The item's position in the input, from 0. */
  readonly index: number;
}

/** The function `map` applies to each item. */
export type MapFn<T, R> = (item: T, ctx: MapContext) => R | PromiseLike<R>;

const EMPTY: unique symbol = Symbol('empty');
const MAX_WINDOW = 1 << 20;
const UNORDERED = 0;
const ORDERED = 1;
const COLLECT = 2;
type Mode = typeof UNORDERED | typeof ORDERED | typeof COLLECT;

class MapIterator<T, R> implements AsyncIterableIterator<R> {
  readonly #items: Iterable<T> | AsyncIterable<T>;
  readonly #fn: MapFn<T, R>;
  readonly #concurrency: number;
  readonly #window: number;
  readonly #mode: Mode;
  readonly #controller = new AbortController();
  readonly #unlink: () => void;
  #source: Iterator<T> | AsyncIterator<T> | undefined;
  #async = false;
  #sourceDone = false;
  #pulling = false;
  #started = 0;
  #yielded = 0;
  #inFlight = 0;
  #failed = false;
  #error: unknown;
  #stopping = false;
  #finished = false;
  #shutdown: Promise<void> | undefined;
  #onQuiet: (() => void) | undefined;
  #waiter: ((result: Promise<IteratorResult<R>>) => void) | undefined;
  #waiting: Promise<IteratorResult<R>> | undefined;
  readonly #ready: Deque<R> | undefined;
  readonly #slots: (R | typeof EMPTY)[] | undefined;
  readonly results: R[] | undefined;

  constructor(items: Iterable<T> | AsyncIterable<T>, fn: MapFn<T, R>, options: MapOptions, mode: Mode) {
    checkFunction('fn', fn);
    const { concurrency, signal } = options;
    checkInteger('concurrency', concurrency, 1, true);
    checkSignal(signal);
    const isIterable = items != null && (typeof (items as AsyncIterable<T>)[Symbol.asyncIterator] === 'function' || typeof (items as Iterable<T>)[Symbol.iterator] === 'function');
    if (!isIterable) throw new InvalidArgumentError(`Expected \`items\` to be an iterable or async iterable, got ${String(items)}`);
    this.#items = items;
    this.#fn = fn;
    this.#concurrency = concurrency;
    this.#mode = mode;
    // Capped so that `concurrency: Infinity` still has a finite ring.
    this.#window = mode === COLLECT ? Infinity : Math.min(2 * concurrency, MAX_WINDOW);
    if (mode === UNORDERED) this.#ready = new Deque<R>();
    if (mode === ORDERED) this.#slots = new Array<R | typeof EMPTY>(this.#window).fill(EMPTY);
    if (mode === COLLECT) this.results = [];
    this.#unlink = onAbort(signal, (reason) => this.#fail(reason, reason));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#waiting !== undefined) {
      const again = () => this.next();
      return this.#waiting.then(again, again);
    }
    if (this.#finished) return Promise.resolve({ done: true, value: undefined });
    if (this.#source === undefined && !this.#sourceDone && !this.#failed) this.#open();
    if (this.#failed) {
      return this.#stop().then(() => {
        this.#finished = true;
        throw this.#error;
      });
    }
    const value = this.#take();
    if (value !== EMPTY) {
      this.#yielded++;
      this.#fill();
      return Promise.resolve({ done: false, value });
    }
    if (this.#sourceDone && this.#inFlight === 0) {
      this.#finished = true;
      this.#unlink();
      return Promise.resolve({ done: true, value: undefined });
    }
    this.#waiting = new Promise<Promise<IteratorResult<R>>>((resolve) => {
      this.#waiter = resolve;
    }).then((result) => {
      this.#waiting = undefined;
      return result;
    });
    return this.#waiting;
  }

  /** The consumer left (`break`): cancels the calls in flight, waits for them, closes the input. */
  async return(): Promise<IteratorResult<R>> {
    if (!this.#finished) {
      this.#finished = true;
      if (!this.#failed) this.#halt(new CancelledError('map() loop ended before the input did'));
      await this.#stop();
      this.#wake();
    }
    return { done: true, value: undefined };
  }

  #open(): void {
    const items = this.#items;
    try {
      const asyncIterator = (items as AsyncIterable<T>)[Symbol.asyncIterator];
      if (typeof asyncIterator === 'function') {
        this.#async = true;
        this.#source = asyncIterator.call(items);
      } else {
        this.#source = (items as Iterable<T>)[Symbol.iterator]();
      }
    } catch (error) {
      this.#sourceDone = true;
      this.#fail(error);
      return;
    }
    this.#fill();
  }

  #take(): R | typeof EMPTY {
    if (this.#mode === UNORDERED) return this.#ready!.length > 0 ? this.#ready!.shift()! : EMPTY;
    if (this.#mode === COLLECT) return EMPTY;
    const slots = this.#slots!;
    const slot = this.#yielded % slots.length;
    const value = slots[slot]!;
    if (value !== EMPTY) slots[slot] = EMPTY;
    return value;
  }

  #fill(): void {
    while (!this.#stopping && !this.#sourceDone && !this.#pulling && this.#inFlight < this.#concurrency && this.#started - this.#yielded < this.#window) {
      if (this.#async) {
        this.#pulling = true;
        try {
          (this.#source as AsyncIterator<T>).next().then(this.#pulled, this.#pullFailed);
        } catch (error) {
          this.#pullFailed(error);
        }
        return;
      }
      let step: IteratorResult<T>;
      try {
        step = (this.#source as Iterator<T>).next();
      } catch (error) {
        this.#sourceDone = true;
        this.#fail(error);
        return;
      }
      if (step.done === true) {
        this.#sourceDone = true;
        this.#wake();
        return;
      }
      this.#start(step.value);
    }
  }

  readonly #pulled = (step: IteratorResult<T>): void => {
    this.#pulling = false;
    if (step.done === true) {
      this.#sourceDone = true;
      this.#wake();
    } else if (!this.#stopping) {
      this.#start(step.value);
      this.#fill();
    }
    this.#checkQuiet();
  };

  readonly #pullFailed = (error: unknown): void => {
    this.#pulling = false;
    this.#sourceDone = true;
    this.#fail(error);
    this.#checkQuiet();
  };

  #start(item: T): void {
    const index = this.#started++;
    this.#inFlight++;
    void this.#run(item, index);
  }

  async #run(item: T, index: number): Promise<void> {
    let value: R;
    try {
      value = await this.#fn(item, { signal: this.#controller.signal, index });
    } catch (error) {
      this.#inFlight--;
      this.#fail(error);
      this.#checkQuiet();
      return;
    }
    this.#inFlight--;
    if (this.#stopping) {
      this.#checkQuiet();
      return;
    }
    if (this.#mode === UNORDERED) this.#ready!.push(value);
    else if (this.#mode === ORDERED) this.#slots![index % this.#slots!.length] = value;
    else this.results![index] = value;
    this.#fill();
    this.#wake();
  }

  /** Records the first failure and cancels everything; the consumer gets it on its next step. */
  #fail(error: unknown, reason?: unknown): void {
    if (this.#failed || this.#finished) return;
    this.#failed = true;
    this.#error = error;
    this.#unlink();
    this.#halt(reason ?? new CancelledError('map() is cancelling: an item failed', { cause: error }));
    this.#wake();
  }

  #halt(reason: unknown): void {
    this.#stopping = true;
    this.#controller.abort(reason);
  }

  /** Wakes a waiting consumer only when its `next()` can settle, so waits never chain up. */
  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === undefined || !this.#deliverable()) return;
    this.#waiter = undefined;
    this.#waiting = undefined;
    waiter(this.next());
  }

  #deliverable(): boolean {
    if (this.#failed || this.#finished || (this.#sourceDone && this.#inFlight === 0)) return true;
    if (this.#mode === UNORDERED) return this.#ready!.length > 0;
    if (this.#mode === ORDERED) return this.#slots![this.#yielded % this.#slots!.length] !== EMPTY;
    return false;
  }

  #checkQuiet(): void {
    if (this.#inFlight === 0 && this.#onQuiet !== undefined) {
      const onQuiet = this.#onQuiet;
      this.#onQuiet = undefined;
      onQuiet();
    }
  }

  #stop(): Promise<void> {
    return (this.#shutdown ??= this.#doStop());
  }

  async #doStop(): Promise<void> {
    this.#unlink();
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#onQuiet = resolve;
      });
    }
    if (this.#sourceDone || this.#source === undefined) return;
    this.#sourceDone = true;
    const source = this.#source;
    if (typeof source.return !== 'function') return;
    try {
      const closing = source.return();
      // A pull still pending on an async input would hold `return()` behind it; do not wait.
      if (this.#async && !this.#pulling) await closing;
      else if (this.#async) Promise.resolve(closing).catch(() => {});
    } catch {
      // The input failed to close; the loop's own outcome is what matters.
    }
  }
}

/**
 * Calls `fn(item, { signal, index })` for each item with at most `concurrency` calls running and
 * yields the results — in completion order, or in input order with `ordered: true`. Works on
 * sync and async iterables of any length in bounded memory: the input is pulled lazily and at
 * most `2 * concurrency` items are between being taken from the input and being yielded.
 *
 * A failure (or an abort of `options.signal`) cancels the calls in flight, waits for them to
 * settle, closes the input iterator, and is thrown from the loop (results not yet yielded are
 * dropped). Leaving the loop early (`break`, `return`, a throw in its body) does the same and
 * ends quietly. `fn` is expected to honour its signal.
 *
 * @example
 * for await (const status of map(urls, async (url, { signal }) => (await fetch(url, { signal })).status, { concurrency: 16 })) {
 *   console.log(status);
 * }
 */
export function map<T, R>(items: Iterable<T> | AsyncIterable<T>, fn: MapFn<T, R>, options: MapOptions): AsyncIterableIterator<R> {
  return new MapIterator(items, fn, options, options.ordered === true ? ORDERED : UNORDERED);
}

/**
 * `map` collected into an array in input order (p-map). Fails like `map`. Holds all results, so
 * memory grows with the input; the input is still pulled lazily.
 *
 * @example
 * const sizes = await mapAll(files, (file, { signal }) => stat(file, { signal }).then((s) => s.size), { concurrency: 8 });
 */
export async function mapAll<T, R>(items: Iterable<T> | AsyncIterable<T>, fn: MapFn<T, R>, options: MapOptions): Promise<R[]> {
  const iterator = new MapIterator(items, fn, options, COLLECT);
  await iterator.next();
  return iterator.results!;
}

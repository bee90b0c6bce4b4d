// asyncio.Queue (with Python 3.13's shutdown) on Promises and AbortSignal.
//
// Design. Items live in a pluggable storage (a Deque for FIFO; LifoQueue and PriorityQueue pass
// their own), waiting getters and putters in two FIFO deques. Unlike asyncio, which wakes a
// waiter and lets it retry, the queue settles the waiter with its outcome on the spot:
//   - put() with a getter waiting hands the item straight to that getter;
//   - a get() that frees a slot moves the first waiting putter's item into storage at once.
// So a settled get has its item and a settled put has enqueued its item; an abort or timeout
// that comes later cannot lose anything, and a waiter that gave up has taken nothing.
//
// Invariants:
//   - getters waiting (#getters > 0)  ⇒ storage is empty;
//   - putters waiting (#putters > 0)  ⇒ storage holds `maxsize` items.
// Cancelled waiters stay in their deque as dead entries (lazy deletion) and are skipped when
// reached; #pruneDead bounds how many pile up.
//
// Hot path: put() that need not wait returns one shared resolved promise; get() that need not
// wait allocates only `Promise.resolve(item)`. A promise, and a listener and timer when asked
// for, are created only for a caller that must wait.
import { type Clock, type Timer, getClock } from './clock.ts';
import { Deque } from './deque.ts';
import { channels } from './diagnostics.ts';
import { QueueEmpty, QueueFull, QueueShutDown, ReleaseError, TimeoutError } from './errors.ts';
import { onAbort } from './signals.ts';
import { checkInteger, checkNonNegative, checkSignal } from './validate.ts';

/**
 * Where a queue keeps its items. The storage decides the order: `shift()` removes and returns
 * the item that should come out next. A `Deque` is FIFO storage as it is.
 */
export interface QueueStorage<T> {
  readonly length: number;
  /** Adds an item in the storage's order. */
  push(item: T): void;
  /** Removes and returns the next item. */
  shift(): T | undefined;
  /** Removes every item. */
  clear(): void;
}

/** Options of `Queue` and `LifoQueue`. */
export interface QueueOptions {
  /**
   * How many items the queue holds before `put` waits (backpressure). `0` means unbounded, as in
   * asyncio.
   * @default Infinity
   */
  maxsize?: number | undefined;
  /**
   * The clock that `timeout`s run on.
   * @default the default clock (see `setDefaultClock`)
   */
  clock?: Clock | undefined;
}

/** Options of the waiting calls of a queue (`put`, `get`, `join`). */
export interface QueueWaitOptions {
  /** Gives up waiting, rejecting with `signal.reason`; nothing is taken or enqueued. */
  signal?: AbortSignal | undefined;
  /**
   * Gives up after this many milliseconds, rejecting with `TimeoutError`.
   * @default Infinity
   */
  timeout?: number | undefined;
}

/** Options of `Queue.shutdown`. */
export interface QueueShutdownOptions {
  /**
   * Also drop the items still queued: waiting getters reject at once, and `join()` waiters are
   * released once only the dropped items were unfinished.
   * @default false
   */
  immediate?: boolean | undefined;
}

/** A snapshot of a queue. */
export interface QueueStats {
  size: number;
  maxsize: number;
  /** Calls to `get()` waiting for an item. */
  getters: number;
  /** Calls to `put()` waiting for a slot. */
  putters: number;
  /** Calls to `join()` waiting. */
  joiners: number;
  /** Items put and not yet marked done with `taskDone()`. */
  unfinished: number;
  shutDown: boolean;
}

type WaitKind = 'get' | 'put' | 'join';

// One shape for every waiter so the hot paths stay monomorphic. `item` is the item a putter
// waits to enqueue (undefined for getters and joiners).
class Waiter<V, I> {
  live = true;
  item: I;
  resolve: (value: V) => void;
  reject: (reason: unknown) => void;
  unlink: () => void = noop;
  timer: Timer | undefined = undefined;

  constructor(item: I, resolvers: PromiseWithResolvers<V>) {
    this.item = item;
    this.resolve = resolvers.resolve;
    this.reject = resolvers.reject;
  }

  end(): void {
    this.live = false;
    if (this.timer !== undefined) this.timer.clear();
    this.unlink();
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

/**
 * An async FIFO queue for producers and consumers (asyncio.Queue). `put` waits while the queue
 * is full, `get` while it is empty; each is served first come, first served. Count work with
 * `taskDone()` and wait for it with `join()`; stop with `shutdown()` (Python 3.13 semantics).
 *
 * A consumer calls `taskDone()` once per item it got, including items from `for await`; the
 * iteration itself never does.
 *
 * Items are delivered through promises, so a thenable item is adopted (awaited) by `get()`; use
 * `getNowait()` or wrap such items.
 *
 * @example
 * const queue = new Queue<string>({ maxsize: 100 });
 * const worker = async () => {
 *   for await (const url of queue) {
 *     try { await fetchOne(url); } finally { queue.taskDone(); }
 *   }
 * };
 * const workers = [worker(), worker(), worker()];
 * for (const url of urls) await queue.put(url); // waits while 100 are queued
 * await queue.join();                           // every item got and marked done
 * queue.shutdown();                             // the workers' loops end
 * await Promise.all(workers);
 */
export class Queue<T> implements AsyncIterable<T> {
  readonly #storage: QueueStorage<T>;
  readonly #maxsize: number;
  readonly #clock: Clock;
  readonly #getters = new Deque<Waiter<T, undefined>>();
  readonly #putters = new Deque<Waiter<void, T>>();
  readonly #joiners = new Set<Waiter<void, undefined>>();
  #liveGetters = 0;
  #livePutters = 0;
  #unfinished = 0;
  #shutDown = false;

  /**
   * @param storage where items are kept, which sets the order they come out in; `LifoQueue` and
   *   `PriorityQueue` pass theirs. @default a `Deque` (first in, first out)
   */
  constructor(options: QueueOptions = {}, storage?: QueueStorage<T>) {
    const { maxsize = Infinity, clock = getClock() } = options;
    checkInteger('maxsize', maxsize, 0, true);
    this.#maxsize = maxsize === 0 ? Infinity : maxsize;
    this.#clock = clock;
    this.#storage = storage ?? new Deque<T>(Math.min(this.#maxsize, 1024));
  }

  /** Items queued now. */
  get size(): number {
    return this.#storage.length;
  }

  /** The capacity; `Infinity` when unbounded (including when constructed with `0`). */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Whether `shutdown()` was called. */
  get isShutDown(): boolean {
    return this.#shutDown;
  }

  /** Whether the queue holds no item. */
  empty(): boolean {
    return this.#storage.length === 0;
  }

  /** Whether `put` would wait (never, when `maxsize` is 0). */
  full(): boolean {
    return this.#storage.length >= this.#maxsize;
  }

  /** A snapshot of the queue's counters. */
  stats(): QueueStats {
    return {
      size: this.#storage.length,
      maxsize: this.#maxsize,
      getters: this.#liveGetters,
      putters: this.#livePutters,
      joiners: this.#joiners.size,
      unfinished: this.#unfinished,
      shutDown: this.#shutDown,
    };
  }

  /**
   * Adds `item`, waiting while the queue is full. Waiting putters are admitted first come, first
   * served, each as soon as a slot frees. Rejects with `QueueShutDown` once the queue is shut
   * down (also while waiting); a put that rejects has enqueued nothing.
   */
  put(item: T, options?: QueueWaitOptions): Promise<void> {
    if (this.#shutDown) return Promise.reject(new QueueShutDown());
    if (options !== undefined) {
      checkWaitOptions(options);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#liveGetters > 0) {
      this.#handOff(item);
      return RESOLVED;
    }
    if (this.#storage.length < this.#maxsize) {
      try {
        this.#storage.push(item);
      } catch (error) {
        return Promise.reject(error);
      }
      this.#unfinished++;
      return RESOLVED;
    }
    return this.#waitPut(item, options);
  }

  /** Adds `item` now, or throws `QueueFull` (or `QueueShutDown`). */
  putNowait(item: T): void {
    if (this.#shutDown) throw new QueueShutDown();
    if (this.#liveGetters > 0) {
      this.#handOff(item);
      return;
    }
    if (this.#storage.length >= this.#maxsize) throw new QueueFull();
    this.#storage.push(item);
    this.#unfinished++;
  }

  /**
   * Removes and returns the next item, waiting while the queue is empty. Waiting getters are
   * served first come, first served. After `shutdown()` it still returns the items left, then
   * rejects with `QueueShutDown`. A get that rejects has taken nothing.
   */
  get(options?: QueueWaitOptions): Promise<T> {
    if (options !== undefined) {
      checkWaitOptions(options);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#storage.length > 0) {
      let item: T;
      try {
        item = this.#storage.shift() as T;
      } catch (error) {
        return Promise.reject(error);
      }
      if (this.#livePutters > 0) this.#admitPutters();
      return Promise.resolve(item);
    }
    if (this.#shutDown) return Promise.reject(new QueueShutDown());
    return this.#waitGet(options);
  }

  /** Removes and returns the next item now, or throws `QueueEmpty` (`QueueShutDown` once shut down). */
  getNowait(): T {
    if (this.#storage.length === 0) throw this.#shutDown ? new QueueShutDown() : new QueueEmpty();
    const item = this.#storage.shift() as T;
    if (this.#livePutters > 0) this.#admitPutters();
    return item;
  }

  /**
   * Marks one item got from the queue as processed. Throws `ReleaseError` if called more times
   * than items were put.
   */
  taskDone(): void {
    if (this.#unfinished <= 0) throw new ReleaseError('taskDone() called more times than items were put in the queue');
    if (--this.#unfinished === 0) this.#releaseJoiners();
  }

  /** Waits until every item put has been marked done with `taskDone()`. */
  join(options?: QueueWaitOptions): Promise<void> {
    if (options !== undefined) {
      checkWaitOptions(options);
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#unfinished === 0) return RESOLVED;
    const resolvers = Promise.withResolvers<void>();
    const waiter = new Waiter<void, undefined>(undefined, resolvers);
    this.#joiners.add(waiter);
    this.#arm(waiter, 'join', options);
    return resolvers.promise;
  }

  /**
   * Stops the queue (Python 3.13). `put` rejects with `QueueShutDown` from now on, waiting
   * putters included; `get` returns the items left, then rejects with `QueueShutDown`, and
   * waiting getters reject at once. With `immediate`, the items left are dropped and count as
   * done for `join()`. Safe to call more than once.
   */
  shutdown(options: QueueShutdownOptions = {}): void {
    this.#shutDown = true;
    if (options.immediate === true) {
      const dropped = this.#storage.length;
      this.#storage.clear();
      if (dropped > 0) {
        this.#unfinished = Math.max(0, this.#unfinished - dropped);
        if (this.#unfinished === 0) this.#releaseJoiners();
      }
    }
    // Getters wait only on an empty queue, so every one of them rejects.
    for (let w = this.#getters.shift(); w !== undefined; w = this.#getters.shift()) {
      if (!w.live) continue;
      w.end();
      w.reject(new QueueShutDown());
    }
    this.#liveGetters = 0;
    for (let w = this.#putters.shift(); w !== undefined; w = this.#putters.shift()) {
      if (!w.live) continue;
      w.end();
      w.item = undefined as T;
      w.reject(new QueueShutDown());
    }
    this.#livePutters = 0;
  }

  /**
   * Gets items until the queue is shut down and drained. The consumer calls `taskDone()` for
   * each item; the iteration does not. Breaking out of the loop takes nothing more.
   */
  async *iterate(options?: { signal?: AbortSignal | undefined }): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.get(options);
      } catch (error) {
        if (error instanceof QueueShutDown) return;
        throw error;
      }
      yield item;
    }
  }

  /** `for await (const item of queue)`: see `iterate()`. */
  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return this.iterate();
  }

  #handOff(item: T): void {
    const getters = this.#getters;
    let w = getters.shift();
    while (w !== undefined && !w.live) w = getters.shift();
    // #liveGetters > 0 guarantees a live getter.
    const getter = w as Waiter<T, undefined>;
    this.#liveGetters--;
    getter.end();
    this.#unfinished++;
    getter.resolve(item);
  }

  #admitPutters(): void {
    const putters = this.#putters;
    while (this.#livePutters > 0 && this.#storage.length < this.#maxsize) {
      const w = putters.shift();
      if (w === undefined) break;
      if (!w.live) continue;
      this.#livePutters--;
      w.end();
      const item = w.item;
      w.item = undefined as T;
      try {
        this.#storage.push(item);
      } catch (error) {
        w.reject(error);
        continue;
      }
      this.#unfinished++;
      w.resolve();
    }
  }

  #releaseJoiners(): void {
    if (this.#joiners.size === 0) return;
    const joiners = [...this.#joiners];
    this.#joiners.clear();
    for (const w of joiners) {
      w.end();
      w.resolve();
    }
  }

  #waitGet(options: QueueWaitOptions | undefined): Promise<T> {
    const resolvers = Promise.withResolvers<T>();
    const waiter = new Waiter<T, undefined>(undefined, resolvers);
    this.#getters.push(waiter);
    this.#liveGetters++;
    this.#arm(waiter, 'get', options);
    return resolvers.promise;
  }

  #waitPut(item: T, options: QueueWaitOptions | undefined): Promise<void> {
    const resolvers = Promise.withResolvers<void>();
    const waiter = new Waiter<void, T>(item, resolvers);
    this.#putters.push(waiter);
    this.#livePutters++;
    this.#arm(waiter, 'put', options);
    return resolvers.promise;
  }

  // Hooks a freshly queued waiter to its signal and timeout, and announces the wait.
  #arm<V, I>(waiter: Waiter<V, I>, kind: WaitKind, options: QueueWaitOptions | undefined): void {
    if (channels.waitStart.hasSubscribers) channels.waitStart.publish({ primitive: this, kind });
    if (options === undefined) return;
    const { signal, timeout } = options;
    if (timeout !== undefined && timeout !== Infinity) {
      if (timeout === 0) {
        this.#cancel(waiter, kind, new TimeoutError(`Queue ${kind}() timed out after 0 ms`));
        return;
      }
      waiter.timer = this.#clock.setTimer(timeout, () => {
        this.#cancel(waiter, kind, new TimeoutError(`Queue ${kind}() timed out after ${timeout} ms`));
      });
    }
    if (signal !== undefined) waiter.unlink = onAbort(signal, (reason) => this.#cancel(waiter, kind, reason));
  }

  #cancel<V, I>(waiter: Waiter<V, I>, kind: WaitKind, reason: unknown): void {
    // A waiter already served keeps its outcome; a late abort or timeout changes nothing.
    if (!waiter.live) return;
    waiter.end();
    waiter.item = undefined as I;
    if (kind === 'get') {
      this.#liveGetters--;
      pruneDead(this.#getters, this.#liveGetters);
    } else if (kind === 'put') {
      this.#livePutters--;
      pruneDead(this.#putters, this.#livePutters);
    } else {
      this.#joiners.delete(waiter as unknown as Waiter<void, undefined>);
    }
    waiter.reject(reason);
  }
}

// Dead entries are skipped when reached; this only keeps them from piling up when waiters keep
// giving up while the live ones at the front never move.
function pruneDead<W extends { live: boolean }>(deque: Deque<W>, live: number): void {
  while (deque.peekLast()?.live === false) deque.pop();
  while (deque.peekFirst()?.live === false) deque.shift();
  if (deque.length - live > 64 && deque.length > 2 * live) {
    for (let i = deque.length; i > 0; i--) {
      const w = deque.shift() as W;
      if (w.live) deque.push(w);
    }
  }
}

function checkWaitOptions(options: QueueWaitOptions): void {
  checkSignal(options.signal);
  if (options.timeout !== undefined) checkNonNegative('timeout', options.timeout, true);
}

function noop(): void {}

// A clock whose time moves only when told (trio's MockClock, Effect's TestClock).
//
// Timers live in a binary heap ordered by (due time, creation order), so timers due at the same
// instant fire in the order they were set, as with setTimeout. Between two firings the clock
// lets the event loop turn once (setImmediate), so promise continuations of the fired timer run
// and may set new timers that the same `advance()` still fires if they fall inside its window.
import { type Clock, type Timer, setDefaultClock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';

interface Entry {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A virtual clock for tests. Time starts at `start` (default 0) and moves with `advance()`,
 * `runAll()` or `run()`; nothing real waits.
 *
 * @example
 * const clock = new VirtualClock();
 * using _ = clock.install();
 * const done = sleep(1000);
 * await clock.advance(1000); // `done` is now resolved
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #heap: Entry[] = [];
  #live = 0;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(ms: number, fn: () => void): Timer {
    const entry: Entry = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn, live: true };
    this.#push(entry);
    this.#live++;
    return {
      clear: () => {
        if (!entry.live) return;
        entry.live = false;
        this.#live--;
      },
    };
  }

  /** Timers set and not yet fired or cleared. A test can assert this is 0 when a scope ends. */
  get pendingTimers(): number {
    return this.#live;
  }

  /** The due time of the next live timer, or `undefined`. */
  nextDue(): number | undefined {
    this.#dropDead();
    return this.#heap[0]?.due;
  }

  /** Makes this the default clock until the returned disposable is disposed. */
  install(): Disposable & { restore(): void } {
    return setDefaultClock(this);
  }

  /** Lets pending promise continuations run (one turn of the event loop). */
  async flush(): Promise<void> {
    await turn();
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new InvalidArgumentError(`Expected \`ms\` to be a finite number ≥ 0, got ${ms}`);
    const target = this.#now + ms;
    await turn();
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due > target) break;
      this.#fireNext();
      await turn();
    }
    this.#now = target;
    await turn();
  }

  /** Fires timers in order until none is left (at most `limit`, against a timer that re-arms forever). */
  async runAll(limit = 100_000): Promise<void> {
    await turn();
    for (let i = 0; i < limit; i++) {
      if (this.nextDue() === undefined) return;
      this.#fireNext();
      await turn();
    }
    throw new Error(`VirtualClock.runAll: more than ${limit} timers fired; is a timer re-arming forever?`);
  }

  /**
   * Awaits `work`, jumping to the next timer whenever nothing else can happen (trio's autojump):
   * code under test runs as if time passed, at once.
   */
  async run<T>(work: Promise<T> | (() => Promise<T>), limit = 100_000): Promise<T> {
    const promise = typeof work === 'function' ? work() : work;
    let settled = false;
    promise.then(() => (settled = true), () => (settled = true));
    await turn();
    for (let i = 0; !settled; i++) {
      if (i >= limit) throw new Error(`VirtualClock.run: more than ${limit} timers fired and the work has not settled`);
      if (this.nextDue() === undefined) {
        // Nothing is scheduled on this clock: the work waits on something real. Let it run.
        await turn();
        if (this.nextDue() === undefined && !settled) await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      this.#fireNext();
      await turn();
    }
    return promise;
  }

  #fireNext(): void {
    const entry = this.#pop();
    if (entry === undefined) return;
    if (entry.due > this.#now) this.#now = entry.due;
    entry.live = false;
    this.#live--;
    entry.fn();
  }

  #dropDead(): void {
    while (this.#heap.length > 0 && !this.#heap[0]!.live) this.#pop();
  }

  #less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Entry | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

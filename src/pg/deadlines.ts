// The deadlines of a pool's statements under its `commandTimeout`, on one shared timer.
//
// Every such statement gets the same delay, and the clock only goes forward, so their deadlines
// come in the order the statements start: a FIFO (a doubly-linked list, O(1) to add and remove)
// whose head is always the next to expire. One timer watches the head. A statement that ends
// just leaves the list — no timer to clear — and a head that left early only makes the timer
// fire once for nothing, then wait for the new head. This replaces a setTimeout and a
// clearTimeout per statement, which under load were the bulk of a statement's client-side cost.
// The timer is cleared when the list empties, so an idle pool holds no timer (and lets the
// process exit).
import type { Clock, Timer } from '../core/clock.ts';

/** An entry of a `DeadlineList`: embed these fields in whatever waits on a deadline. */
export interface DeadlineEntry {
  due: number;
  prev: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
  listed: boolean;
}

export class DeadlineList<E extends DeadlineEntry> {
  readonly delay: number;
  readonly #clock: Clock;
  readonly #expire: (entry: E) => void;
  #head: E | undefined;
  #tail: E | undefined;
  #timer: Timer | undefined;
  readonly #fire = () => {
    this.#timer = undefined;
    const now = this.#clock.now();
    for (let entry = this.#head; entry !== undefined && entry.due <= now; entry = this.#head) {
      this.#unlink(entry);
      this.#expire(entry);
    }
    const head = this.#head;
    if (head !== undefined && this.#timer === undefined) this.#timer = this.#clock.setTimer(head.due - now, this.#fire);
  };

  /** `expire(entry)` runs once `delay` ms after `add(entry)`, unless `remove(entry)` came first. */
  constructor(clock: Clock, delay: number, expire: (entry: E) => void) {
    this.#clock = clock;
    this.delay = delay;
    this.#expire = expire;
  }

  add(entry: E): void {
    entry.due = this.#clock.now() + this.delay;
    entry.prev = this.#tail;
    entry.next = undefined;
    entry.listed = true;
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    this.#timer ??= this.#clock.setTimer(this.delay, this.#fire);
  }

  /** Takes `entry` off the list; a no-op if it is not on it (it expired, or was removed). */
  remove(entry: E): void {
    if (!entry.listed) return;
    this.#unlink(entry);
    if (this.#head === undefined && this.#timer !== undefined) {
      this.#timer.clear();
      this.#timer = undefined;
    }
  }

  #unlink(entry: E): void {
    const { prev, next } = entry;
    if (prev === undefined) this.#head = next as E | undefined;
    else prev.next = next;
    if (next === undefined) this.#tail = prev as E | undefined;
    else next.prev = prev;
    entry.prev = undefined;
    entry.next = undefined;
    entry.listed = false;
  }
}

// asyncio.LifoQueue: the Queue's waiting machinery over a stack.
import { Queue, type QueueOptions, type QueueStorage } from './queue.ts';

class Stack<T> implements QueueStorage<T> {
  #items: T[] = [];

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    return this.#items.pop();
  }

  clear(): void {
    this.#items = [];
  }
}

/**
 * An async stack (asyncio.LifoQueue): `get` returns the item put most recently. Same API as
 * `Queue` (waiting, backpressure, `join`, `shutdown`), which it extends. Getters already waiting
 * are still served first come, first served.
 *
 * @example
 * const stack = new LifoQueue<number>();
 * await stack.put(1);
 * await stack.put(2);
 * await stack.get(); // 2
 */
export class LifoQueue<T> extends Queue<T> {
  constructor(options: QueueOptions = {}) {
    super(options, new Stack<T>());
  }
}

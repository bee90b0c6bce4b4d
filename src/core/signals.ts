// Cancellation plumbing.
//
// Linking is done with callbacks that are removed when the link ends, never with
// `AbortSignal.any([parent, …])`, which keeps every child alive for as long as the parent lives
// (nodejs/node#54614). And every wait on one signal shares ONE event listener on it, with the
// waiters in a Set: Node's addEventListener walks the signal's listeners to find duplicates, so
// ten thousand requests each listening on a crawl's signal would cost O(n²). The shared listener
// is removed when its last waiter leaves, so a signal carries no spate listener between waits.

type Waiters = Set<(reason: unknown) => void> & { listener?: () => void };
const waiting = new WeakMap<AbortSignal, Waiters>();

/**
 * Calls `fn(reason)` once when `signal` aborts (at once, synchronously, if it already has).
 * Returns a function that removes it; call it when the wait ends.
 */
export function onAbort(signal: AbortSignal | undefined, fn: (reason: unknown) => void): () => void {
  if (signal === undefined) return noop;
  if (signal.aborted) {
    fn(signal.reason);
    return noop;
  }
  let waiters = waiting.get(signal);
  if (waiters === undefined) {
    const set: Waiters = new Set();
    set.listener = () => {
      waiting.delete(signal);
      for (const waiter of set) waiter(signal.reason);
      set.clear();
    };
    signal.addEventListener('abort', set.listener, { once: true });
    waiting.set(signal, set);
    waiters = set;
  }
  // A fresh function per wait, so the same `fn` can wait twice and leave once.
  const waiter = (reason: unknown) => fn(reason);
  const set = waiters;
  set.add(waiter);
  return () => {
    if (!set.delete(waiter) || set.size > 0 || waiting.get(signal) !== set) return;
    waiting.delete(signal);
    signal.removeEventListener('abort', set.listener!);
  };
}

/**
 * An AbortController that also aborts when `parent` does. `unlink()` (or disposing it) detaches
 * it from the parent, so a long-lived parent does not keep it alive.
 */
export class LinkedController extends AbortController {
  #unlink: () => void;

  constructor(parent?: AbortSignal) {
    super();
    this.#unlink = noop;
    if (parent !== undefined) this.#unlink = onAbort(parent, (reason) => this.abort(reason));
  }

  /** Removes the listener on the parent signal (the child keeps its state). */
  unlink(): void {
    this.#unlink();
    this.#unlink = noop;
  }

  /** Same as `unlink()`. */
  [Symbol.dispose](): void {
    this.unlink();
  }
}

/** Rejects with `signal.reason` if the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

function noop(): void {}

// Cancellation plumbing. Linking is done with one listener per link that is removed when the
// link ends, never with `AbortSignal.any([parent, …])`, which keeps every child alive for as long
// as the parent lives (nodejs/node#54614).

/**
 * Calls `fn(reason)` once when `signal` aborts (at once, synchronously, if it already has).
 * Returns a function that removes the listener; call it when the wait ends.
 */
export function onAbort(signal: AbortSignal | undefined, fn: (reason: unknown) => void): () => void {
  if (signal === undefined) return noop;
  if (signal.aborted) {
    fn(signal.reason);
    return noop;
  }
  const listener = () => fn(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
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

  unlink(): void {
    this.#unlink();
    this.#unlink = noop;
  }

  [Symbol.dispose](): void {
    this.unlink();
  }
}

/** Rejects with `signal.reason` if the signal has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

function noop(): void {}

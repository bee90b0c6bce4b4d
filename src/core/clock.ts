// Time, read through one interface so that tests (and users' tests) can swap in a virtual clock.
// Every primitive that reads time or sets a timer takes `{ clock }` and falls back to the
// current default, which `spate/testing`'s `VirtualClock.install()` replaces.

/** A cancellable timer handle. `clear()` is safe to call twice and after the timer fired. */
export interface Timer {
  /** Cancels the timer; a no-op once it fired. */
  clear(): void;
}

/** Where spate reads time and sets timers. Milliseconds throughout. */
export interface Clock {
  /** A monotonic time in milliseconds (not wall-clock time). */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): Timer;
}

/** The real clock: `performance.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const handle = setTimeout(fn, ms);
    return { clear: () => clearTimeout(handle) };
  },
};

let current: Clock = systemClock;

/** The clock primitives use when none is given. */
export function getClock(): Clock {
  return current;
}

/**
 * Makes `clock` the default for everything that is not given one, until the returned
 * disposable is disposed (then the previous default comes back).
 */
export function setDefaultClock(clock: Clock): Disposable & { restore(): void } {
  const previous = current;
  current = clock;
  const restore = () => {
    current = previous;
  };
  return { restore, [Symbol.dispose]: restore };
}

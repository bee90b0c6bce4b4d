// The one shape the resilience wrappers (retry, circuit breaker, rate limiter) take and return,
// so they stack in any order: `breaker.wrap(withRetry(limiter.wrap(fn), opts))`. A wrapped
// function takes an optional `{ signal }` and hands its inner function a definite one.

/** A unit of work the wrappers can guard: gets a signal, returns a value or a promise. */
export type Operation<T> = (ctx: { signal: AbortSignal }) => T | PromiseLike<T>;

/** What a wrapper returns. It is itself an `Operation`, so it can be wrapped again. */
export type Wrapped<T> = (ctx?: { signal?: AbortSignal | undefined }) => Promise<T>;

/** Anything with a `wrap` method: `CircuitBreaker`, `RateLimiter`, or a policy of your own. */
export interface Policy {
  /** Returns `fn` wrapped in this policy. */
  wrap<T>(fn: Operation<T>): Wrapped<T>;
}

/** A wrapper as a plain function, e.g. `(fn) => withRetry(fn, { retries: 5 })`. */
export type PolicyFunction = <T>(fn: Operation<T>) => Wrapped<T>;

/**
 * Stacks policies, outermost first: `compose(a, b, c)(fn)` is `a.wrap(b.wrap(c.wrap(fn)))`.
 *
 * @example
 * const guarded = compose(breaker, (fn) => withRetry(fn, { retries: 3 }), limiter)(fetchUser);
 * await guarded({ signal });
 */
export function compose(...policies: readonly (Policy | PolicyFunction)[]): <T>(fn: Operation<T>) => Wrapped<T> {
  return <T>(fn: Operation<T>): Wrapped<T> => {
    let wrapped: Operation<T> = fn;
    for (let i = policies.length - 1; i >= 0; i--) {
      const policy = policies[i]!;
      wrapped = typeof policy === 'function' ? policy(wrapped) : policy.wrap(wrapped);
    }
    return (ctx) => Promise.resolve(wrapped({ signal: ctx?.signal ?? new AbortController().signal }));
  };
}

/**
 * The signal an inner function receives: the caller's, or a fresh one nobody aborts. A fresh
 * signal per call rather than one shared never-aborted signal, so listeners a callee forgets to
 * remove die with the call instead of piling up on a global.
 */
export function callSignal(signal: AbortSignal | undefined): AbortSignal {
  return signal ?? new AbortController().signal;
}

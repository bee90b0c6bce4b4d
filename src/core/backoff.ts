// Delays between retries. A Backoff is a plain function from the retry number to milliseconds,
// so any schedule fits. `exponentialBackoff` follows the AWS Architecture Blog's "Exponential
// Backoff And Jitter": the ceiling grows as base·factor^n up to `max`, and "full" jitter draws
// uniformly under it, which spreads a crowd of synchronised clients best for the least total wait.
import { InvalidArgumentError } from './errors.ts';
import { checkFunction, checkNonNegative } from './validate.ts';

/** Milliseconds to wait before retry number `attempt` (0 for the first retry). */
export type Backoff = (attempt: number) => number;

/** How random a delay is: in `[0, d]` ('full'), in `[d/2, d]` ('equal'), or exactly `d` ('none'). */
export type Jitter = 'full' | 'equal' | 'none';

/** Options of `exponentialBackoff`: full-jitter delays that double up to a cap. */
export interface ExponentialBackoffOptions {
  /** The ceiling of the first delay, in ms. @default 100 */
  base?: number | undefined;
  /** No delay is longer than this, in ms. @default 30_000 */
  max?: number | undefined;
  /** How much the ceiling grows per retry. @default 2 */
  factor?: number | undefined;
  /** @default 'full' */
  jitter?: Jitter | undefined;
  /** A source of numbers in [0, 1); inject one to make delays predictable in tests. @default Math.random */
  random?: (() => number) | undefined;
}

/**
 * Exponential backoff with jitter: retry `n` waits up to `min(max, base·factor^n)` ms.
 *
 * @example
 * const backoff = exponentialBackoff({ base: 200, max: 10_000 });
 * backoff(0); // in [0, 200]
 * backoff(3); // in [0, 1600]
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): Backoff {
  const { base = 100, max = 30_000, factor = 2, jitter = 'full', random = Math.random } = options;
  checkNonNegative('base', base);
  checkNonNegative('max', max, true);
  if (typeof factor !== 'number' || !(factor >= 1) || !Number.isFinite(factor)) {
    throw new InvalidArgumentError(`Expected \`factor\` to be a finite number ≥ 1, got ${String(factor)}`);
  }
  if (jitter !== 'full' && jitter !== 'equal' && jitter !== 'none') {
    throw new InvalidArgumentError(`Expected \`jitter\` to be 'full', 'equal' or 'none', got ${String(jitter)}`);
  }
  checkFunction('random', random);
  return (attempt) => {
    // base·factor^n overflows to Infinity for large n; min() caps it, and base 0 never grows.
    const ceiling = base === 0 ? 0 : Math.min(max, base * factor ** Math.max(0, attempt));
    if (jitter === 'none') return ceiling;
    if (jitter === 'equal') return ceiling / 2 + random() * (ceiling / 2);
    return random() * ceiling;
  };
}

/**
 * The same delay before every retry.
 *
 * @example
 * await retry(connect, { backoff: constantBackoff(500) });
 */
export function constantBackoff(ms: number): Backoff {
  checkNonNegative('ms', ms);
  return () => ms;
}

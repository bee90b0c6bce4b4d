// The seeds' `performance_monitor` decorator, done properly: counts, errors, in-flight calls and
// a latency histogram per wrapped function, kept in a registry instead of printed.
//
// The wrapper returns exactly what `fn` returned (the same promise or thenable, not a new one),
// so the caller's type, identity and unhandled-rejection behaviour are unchanged; a settled
// call is observed through one extra `then`.
import { type Clock, getClock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { checkFunction } from '../core/validate.ts';
import type { Histogram } from './histogram.ts';
import { type Counter, type Gauge, type Labels, type MetricsRegistry, defaultRegistry } from './registry.ts';

/** Options of {@link monitor}. */
export interface MonitorOptions {
  /**
   * The metric name prefix: metrics are `<name>_duration_seconds` (histogram, every settled call),
   * `<name>_errors_total` (counter) and `<name>_in_flight` (gauge).
   */
  name: string;
  /** @default defaultRegistry */
  registry?: MetricsRegistry | undefined;
  /** Labels on the three metrics. @default {} */
  labels?: Labels | undefined;
  /** Where time is read. @default getClock() at wrap time */
  clock?: Clock | undefined;
}

/** What `stats()` of a {@link Monitored} returns; latencies in milliseconds. */
export interface MonitorStats {
  /** Calls that settled (fulfilled, rejected or threw). */
  readonly count: number;
  /** Calls that threw or rejected. */
  readonly errors: number;
  /** Calls started and not yet settled. */
  readonly inFlight: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** A monitored function: the same call signature, plus its metrics. */
export type Monitored<F> = F & {
  /** A summary of the calls so far. */
  readonly stats: () => MonitorStats;
  /** The metrics themselves (shared with the registry). */
  readonly metrics: { readonly duration: Histogram; readonly errors: Counter; readonly inFlight: Gauge };
};

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Wraps `fn` (async or sync) so every call records its latency, whether it failed, and how many
 * calls are in flight. `this`, arguments and return value pass through unchanged.
 *
 * @example
 * const getUser = monitor(async (id: string) => db.find(id), { name: 'get_user' });
 * await getUser('42');
 * console.log(getUser.stats()); // { count: 1, errors: 0, inFlight: 0, p50: …, … }
 * console.log(defaultRegistry.report());
 *
 * @typeParam F - the wrapped function's type, kept as is
 */
export function monitor<F extends (this: never, ...args: never[]) => unknown>(fn: F, options: MonitorOptions): Monitored<F> {
  checkFunction('fn', fn);
  const { name, labels = {}, registry = defaultRegistry } = options;
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`Expected \`name\` to be a non-empty string, got ${String(name)}`);
  const clock = options.clock ?? getClock();
  const duration = registry.histogram(`${name}_duration_seconds`, labels, { help: `Latency of ${name} calls in seconds` });
  const errors = registry.counter(`${name}_errors_total`, labels);
  const inFlight = registry.gauge(`${name}_in_flight`, labels);

  function wrapper(this: unknown, ...args: unknown[]): unknown {
    const start = clock.now();
    inFlight.inc();
    let result: unknown;
    try {
      result = Reflect.apply(fn, this, args);
    } catch (error) {
      inFlight.dec();
      errors.inc();
      duration.record(Math.max(0, clock.now() - start));
      throw error;
    }
    if (!isThenable(result)) {
      inFlight.dec();
      duration.record(Math.max(0, clock.now() - start));
      return result;
    }
    result.then(
      () => {
        inFlight.dec();
        duration.record(Math.max(0, clock.now() - start));
      },
      () => {
        inFlight.dec();
        errors.inc();
        duration.record(Math.max(0, clock.now() - start));
      },
    );
    return result;
  }

  const stats = (): MonitorStats => ({
    count: duration.count,
    errors: errors.value,
    inFlight: inFlight.value,
    mean: duration.mean,
    p50: duration.percentile(50),
    p90: duration.percentile(90),
    p99: duration.percentile(99),
    max: duration.max,
  });
  Object.defineProperties(wrapper, {
    name: { value: fn.name, configurable: true },
    length: { value: fn.length, configurable: true },
    stats: { value: stats },
    metrics: { value: Object.freeze({ duration, errors, inFlight }) },
  });
  return wrapper as unknown as Monitored<F>;
}

// The definition of a stage, independent of how items travel (in-process queues or a broker).
// Its shape is stable — the broker transports build on it:
//
//   Stage<I, O> = {
//     name: string,
//     kind: 'map' | 'filter' | 'flatMap' | 'batch' | 'tap' | 'sink',
//     fn: (input, ctx: { signal, attempt, stage }) => value | Promise<value>,
//         // input is one item, or an array of items for 'batch'
//     options: {
//       concurrency: number | { min, max, initial, interval, cooldown }  (autoscale),
//       buffer, timeout, retry: { retries, backoff, retryOn, maxDelay },
//       rateLimit?: { limit, interval }, ordered, onError: 'dead-letter' | 'fail-fast',
//       size, maxWait   (batch only)
//     }
//   }
//
// What a kind does with the function's value, as a list of outputs (see `outputsOf`):
//   map → [value]; filter → value ? [input] : []; flatMap → [...value]; tap → [input];
//   batch → fn ? [value] : [input]; sink → [].
import { type Backoff, exponentialBackoff } from '../core/backoff.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { checkFunction, checkInteger, checkNonNegative } from '../core/validate.ts';

/** What a stage does with its function's value (see the `Pipeline` methods of the same names). */
export type StageKind = 'map' | 'filter' | 'flatMap' | 'batch' | 'tap' | 'sink';

/** What the stage's function gets beside its input. */
export interface StageContext {
  /** Aborted when the item's timeout passes or the pipeline stops now. Pass it on to the I/O. */
  readonly signal: AbortSignal;
  /** 1 for the first call, 2 for the first retry, … */
  readonly attempt: number;
  /** The stage's name. */
  readonly stage: string;
}

/** A stage's function. */
export type StageFn<I, R> = (input: I, ctx: StageContext) => R | PromiseLike<R>;

/** Workers that follow the load between `min` and `max` (see docs/pipeline.md, "Dynamic workers"). */
export interface AutoscaleOptions {
  /** Never fewer workers than this. @default 1 */
  min?: number | undefined;
  /** Never more workers than this. */
  max: number;
  /** Workers at the start. @default min */
  initial?: number | undefined;
  /** How often the controller looks, in ms. @default 250 */
  interval?: number | undefined;
  /** After a change, no change in the other direction for this long, in ms. @default 1000 */
  cooldown?: number | undefined;
}

/** Retries of one item in one stage (spate/core's `retry`). */
export interface StageRetryOptions {
  /** Retries after the first call. @default 0 */
  retries?: number | undefined;
  /** @default exponentialBackoff() */
  backoff?: Backoff | undefined;
  /** Whether an error is worth a retry; a number waits that many ms. @default every error */
  retryOn?: ((error: unknown, attempt: number) => boolean | number) | undefined;
  /** A longer wait gives up instead. @default Infinity */
  maxDelay?: number | undefined;
}

/** Options of every stage: name, workers, buffer, timeout, retries, rate limit, order, and what a failure does. */
export interface StageOptions {
  /** A name for metrics and dead letters. @default the kind and its position, e.g. 'map#2' */
  name?: string | undefined;
  /** Workers: a fixed number, or a range the stage scales within. @default 1 */
  concurrency?: number | AutoscaleOptions | undefined;
  /** Items waiting in the stage's input; a full buffer holds back the stage before it. @default max(16, 2 × max workers) */
  buffer?: number | undefined;
  /** Per-call timeout in ms; the call's signal aborts and the attempt fails with a TimeoutError. @default Infinity */
  timeout?: number | undefined;
  /** Retries per item; a number is `{ retries }`. @default no retries */
  retry?: number | StageRetryOptions | undefined;
  /** At most `limit` calls (attempts) in any `interval` ms. @default none */
  rateLimit?: { limit: number; interval: number } | undefined;
  /** Outputs in input order (a slow item holds back the ones after it). @default false */
  ordered?: boolean | undefined;
  /** After the retries: keep the item as a dead letter and go on, or stop the whole pipeline. @default 'dead-letter' */
  onError?: 'dead-letter' | 'fail-fast' | undefined;
}

/** Options of a batch stage: a stage's options plus the batch's size and how long a partial one waits. */
export interface BatchOptions extends StageOptions {
  /** Items per batch. */
  size: number;
  /** A partial batch leaves after this many ms without filling. @default Infinity */
  maxWait?: number | undefined;
}

/** A stage's options, checked and with every default filled in. */
export interface StageSettings {
  readonly min: number;
  readonly max: number;
  readonly initial: number;
  readonly autoscale: boolean;
  readonly interval: number;
  readonly cooldown: number;
  readonly buffer: number;
  readonly timeout: number;
  readonly retries: number;
  readonly backoff: Backoff;
  /** `retry.retryOn` as given; undefined retries every error. */
  readonly retryOn: ((error: unknown, attempt: number) => boolean | number) | undefined;
  readonly maxDelay: number;
  readonly rateLimit: { readonly limit: number; readonly interval: number } | undefined;
  readonly ordered: boolean;
  readonly onError: 'dead-letter' | 'fail-fast';
  /** Batch only: items per batch (1 for the other kinds). */
  readonly size: number;
  /** Batch only: ms a partial batch may wait. */
  readonly maxWait: number;
}

/** One step of a pipeline: its name, kind, the user's function and its settings. `I` in, `O` out. */
export interface Stage<I = unknown, O = unknown> {
  readonly name: string;
  readonly kind: StageKind;
  /** The user's function; `undefined` only for a batch stage that just groups. */
  readonly fn: StageFn<never, unknown> | undefined;
  readonly options: StageSettings;
  /** Type marker only; never set. */
  readonly types?: ((input: I) => O) | undefined;
}

const kinds: ReadonlySet<string> = new Set(['map', 'filter', 'flatMap', 'batch', 'tap', 'sink']);
const defaultBackoff = exponentialBackoff();

/**
 * Checks a stage's options and fills in the defaults; `position` names an unnamed stage.
 * Throws InvalidArgumentError saying what was wrong.
 *
 * @example
 * const parse = defineStage<string, Row>('map', (line) => JSON.parse(line), { concurrency: 4 });
 */
export function defineStage<I, O>(
  kind: StageKind,
  fn: StageFn<never, unknown> | undefined,
  options: StageOptions | BatchOptions = {},
  position = 0,
): Stage<I, O> {
  if (!kinds.has(kind)) throw new InvalidArgumentError(`Expected a stage kind (${[...kinds].join(', ')}), got ${String(kind)}`);
  if (kind !== 'batch' || fn !== undefined) checkFunction(`${kind} function`, fn);
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`Expected stage options to be an object, got ${String(options)}`);
  const name = options.name ?? `${kind}#${position}`;
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`Expected \`name\` to be a non-empty string, got ${String(name)}`);
  return { name, kind, fn, options: settings(kind, options) };
}

function settings(kind: StageKind, options: StageOptions | BatchOptions): StageSettings {
  const { concurrency = 1, timeout = Infinity, retry, rateLimit, ordered = false, onError = 'dead-letter' } = options;
  let min: number, max: number, initial: number, interval = 250, cooldown = 1000;
  const autoscale = typeof concurrency === 'object' && concurrency !== null;
  if (autoscale) {
    max = checkInteger('concurrency.max', concurrency.max, 1);
    min = checkInteger('concurrency.min', concurrency.min ?? 1, 1);
    if (min > max) throw new InvalidArgumentError(`Expected \`concurrency.min\` (${min}) ≤ \`concurrency.max\` (${max})`);
    initial = checkInteger('concurrency.initial', concurrency.initial ?? min, 1);
    if (initial < min || initial > max) throw new InvalidArgumentError(`Expected \`concurrency.initial\` within [${min}, ${max}], got ${initial}`);
    interval = checkNonNegative('concurrency.interval', concurrency.interval ?? interval);
    if (interval === 0) throw new InvalidArgumentError('Expected `concurrency.interval` to be > 0, got 0');
    cooldown = checkNonNegative('concurrency.cooldown', concurrency.cooldown ?? cooldown);
  } else {
    min = max = initial = checkInteger('concurrency', concurrency, 1);
  }
  const buffer = checkInteger('buffer', options.buffer ?? Math.max(16, 2 * max), 1);
  checkNonNegative('timeout', timeout, true);
  if (timeout === 0) throw new InvalidArgumentError('Expected `timeout` to be > 0 ms, got 0');
  const r: StageRetryOptions = typeof retry === 'number' ? { retries: retry } : retry ?? {};
  if (typeof r !== 'object' || r === null) throw new InvalidArgumentError(`Expected \`retry\` to be a number or an object, got ${String(retry)}`);
  const retries = checkInteger('retry.retries', r.retries ?? 0, 0, true);
  if (r.backoff !== undefined) checkFunction('retry.backoff', r.backoff);
  if (r.retryOn !== undefined) checkFunction('retry.retryOn', r.retryOn);
  const maxDelay = checkNonNegative('retry.maxDelay', r.maxDelay ?? Infinity, true);
  if (rateLimit !== undefined) {
    if (typeof rateLimit !== 'object' || rateLimit === null) throw new InvalidArgumentError(`Expected \`rateLimit\` to be { limit, interval }, got ${String(rateLimit)}`);
    checkInteger('rateLimit.limit', rateLimit.limit, 1);
    checkNonNegative('rateLimit.interval', rateLimit.interval);
  }
  if (typeof ordered !== 'boolean') throw new InvalidArgumentError(`Expected \`ordered\` to be a boolean, got ${String(ordered)}`);
  if (onError !== 'dead-letter' && onError !== 'fail-fast') {
    throw new InvalidArgumentError(`Expected \`onError\` to be 'dead-letter' or 'fail-fast', got ${String(onError)}`);
  }
  let size = 1, maxWait = Infinity;
  if (kind === 'batch') {
    const b = options as BatchOptions;
    size = checkInteger('size', b.size, 1);
    maxWait = checkNonNegative('maxWait', b.maxWait ?? Infinity, true);
  }
  return {
    min, max, initial, autoscale, interval, cooldown, buffer, timeout,
    retries, backoff: r.backoff ?? defaultBackoff, retryOn: r.retryOn, maxDelay,
    rateLimit: rateLimit && { limit: rateLimit.limit, interval: rateLimit.interval },
    ordered, onError, size, maxWait,
  };
}

/**
 * Calls the stage's function once on `input` and turns its value into the stage's outputs
 * (see the table at the top of this file). flatMap's iterable is read to the end here, so a
 * retry never re-emits half of it.
 */
export async function outputsOf(stage: Stage, input: unknown, ctx: StageContext): Promise<unknown[]> {
  const fn = stage.fn as StageFn<unknown, unknown> | undefined;
  switch (stage.kind) {
    case 'map':
      return [await fn!(input, ctx)];
    case 'filter':
      return (await fn!(input, ctx)) ? [input] : [];
    case 'tap':
      await fn!(input, ctx);
      return [input];
    case 'sink':
      await fn!(input, ctx);
      return [];
    case 'batch':
      return fn === undefined ? [input] : [await fn(input, ctx)];
    case 'flatMap': {
      const value = await fn!(input, ctx);
      const out: unknown[] = [];
      if (value !== null && typeof value === 'object' && Symbol.asyncIterator in value) {
        for await (const v of value as AsyncIterable<unknown>) out.push(v);
      } else if (value !== null && typeof value === 'object' && Symbol.iterator in value) {
        for (const v of value as Iterable<unknown>) out.push(v);
      } else {
        throw new InvalidArgumentError(`flatMap stage '${stage.name}' must return an iterable, got ${String(value)}`);
      }
      return out;
    }
  }
}

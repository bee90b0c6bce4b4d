// A latency histogram with HDR-style log-linear buckets in fixed memory.
//
// Values (milliseconds) are stored as nanoseconds n. Below 2^K (K = 5, so 32 ns) every integer
// has its own bucket. Above, each power of two [2^e, 2^(e+1)) is split into 2^K equal buckets
// of width 2^(e-K), so a bucket's width is at most 1/32 of its lower bound and its midpoint is
// within 1/64 (~1.6%) of every value in it:
//
//   index:   0 … 31 | 32 … 63 | 64 … 95  | 96 … 127  | …
//   n:       0 … 31 | 32 … 63 | 64 … 126 | 128 … 252 | …   (step 1, 1, 2, 4, …)
//
// index(n) = shift · 32 + ⌊n / 2^shift⌋ with shift = ⌊log2 n⌋ − K, which is O(1) (clz32) and
// allocates nothing. Values at or above 2^46 ns (~19.5 h) share the last bucket; `min`, `max`,
// `sum` and `mean` are exact whatever the value.
import { InvalidArgumentError } from '../core/errors.ts';

const K = 5;
const SUB = 1 << K;
const MAX_EXPONENT = 45;
const BUCKETS = (MAX_EXPONENT - K) * SUB + 2 * SUB;
const MAX_NS = 2 ** (MAX_EXPONENT + 1) - 1;
const TWO_32 = 2 ** 32;
const NS_PER_MS = 1e6;

/** The largest relative error of a percentile, for values ≥ 32 ns: half a bucket's width. */
export const HISTOGRAM_RELATIVE_ERROR = 1 / (2 * SUB);

const POW2 = new Float64Array(MAX_EXPONENT - K + 1);
for (let i = 0; i < POW2.length; i++) POW2[i] = 2 ** i;

function indexOf(ns: number): number {
  if (ns < SUB) return Math.floor(ns);
  const exponent = ns < TWO_32 ? 31 - Math.clz32(ns) : 63 - Math.clz32(ns / TWO_32);
  const shift = exponent - K;
  return shift * SUB + Math.floor(ns / (POW2[shift] as number));
}

/** Lower bound (ns) and width (ns) of bucket `index`. */
function lowerOf(index: number): number {
  if (index < 2 * SUB) return index;
  const shift = Math.floor(index / SUB) - 1;
  return (index - shift * SUB) * 2 ** shift;
}

function widthOf(index: number): number {
  return index < 2 * SUB ? 1 : 2 ** (Math.floor(index / SUB) - 1);
}

/** Bucket `index`'s representative value in milliseconds (its midpoint). */
function valueOf(index: number): number {
  return (lowerOf(index) + widthOf(index) / 2) / NS_PER_MS;
}

/** A point-in-time summary of a histogram, in milliseconds. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

/**
 * A latency histogram: `record(ms)` is O(1) and allocates nothing; percentiles are within
 * {@link HISTOGRAM_RELATIVE_ERROR} (1/64, ~1.6%) of the true value from 32 ns up to ~19 hours.
 * Memory is fixed (about 10 KB). `min`, `max`, `sum`, `mean` are exact; an empty histogram
 * reports 0 for all of them.
 *
 * @example
 * const h = new Histogram();
 * const start = performance.now();
 * await work();
 * h.record(performance.now() - start);
 * console.log(h.percentile(99), h.snapshot());
 */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Infinity;
  #max = -Infinity;
  #low = BUCKETS;
  #high = -1;

  /** Records one value in milliseconds (≥ 0). */
  record(ms: number): void {
    if (!(ms >= 0)) throw new InvalidArgumentError(`Expected a duration ≥ 0 in milliseconds, got ${ms}`);
    let ns = ms * NS_PER_MS;
    if (ns > MAX_NS) ns = MAX_NS;
    const index = indexOf(ns);
    this.#counts[index]! += 1;
    if (index < this.#low) this.#low = index;
    if (index > this.#high) this.#high = index;
    this.#count++;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** How many values were recorded. */
  get count(): number {
    return this.#count;
  }

  /** The sum of the recorded values (ms), exact. */
  get sum(): number {
    return this.#sum;
  }

  /** The smallest recorded value (ms), exact; 0 when empty. */
  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }

  /** The largest recorded value (ms), exact; 0 when empty. */
  get max(): number {
    return this.#count === 0 ? 0 : this.#max;
  }

  /** The mean (ms), exact; 0 when empty. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /**
   * The value (ms) at or below which `p` percent of the recorded values fall (nearest rank),
   * within {@link HISTOGRAM_RELATIVE_ERROR}; clamped to [min, max], so `percentile(0)` is
   * `min` and `percentile(100)` is `max`. 0 when empty.
   */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new InvalidArgumentError(`Expected \`p\` to be a number from 0 to 100, got ${p}`);
    if (this.#count === 0) return 0;
    if (p === 0) return this.#min;
    if (p === 100) return this.#max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let i = this.#low; i <= this.#high; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, valueOf(i)));
    }
    return this.#max;
  }

  /**
   * How many recorded values are ≤ `ms` (as their buckets' midpoints place them; exact for
   * bounds above `max`). For Prometheus `le` buckets.
   */
  countAtOrBelow(ms: number): number {
    if (this.#count === 0 || ms < this.#min) return 0;
    if (ms >= this.#max) return this.#count;
    let seen = 0;
    for (let i = this.#low; i <= this.#high; i++) {
      if (valueOf(i) > ms) break;
      seen += this.#counts[i]!;
    }
    return seen;
  }

  /** The count, sum, min, max, mean and p50/p90/p99/p99.9, in milliseconds. */
  snapshot(): HistogramSnapshot {
    return {
      count: this.#count,
      sum: this.#sum,
      min: this.min,
      max: this.max,
      mean: this.mean,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
    };
  }

  /** Adds every value recorded in `other` to this histogram. */
  merge(other: Histogram): this {
    if (other.#count === 0) return this;
    const counts = this.#counts;
    const theirs = other.#counts;
    for (let i = other.#low; i <= other.#high; i++) counts[i]! += theirs[i]!;
    this.#low = Math.min(this.#low, other.#low);
    this.#high = Math.max(this.#high, other.#high);
    this.#count += other.#count;
    this.#sum += other.#sum;
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
    return this;
  }

  /** Forgets every recorded value. */
  reset(): void {
    if (this.#high >= 0) this.#counts.fill(0, this.#low, this.#high + 1);
    this.#count = 0;
    this.#sum = 0;
    this.#min = Infinity;
    this.#max = -Infinity;
    this.#low = BUCKETS;
    this.#high = -1;
  }

  /** Same as `snapshot()`, for `JSON.stringify`. */
  toJSON(): HistogramSnapshot {
    return this.snapshot();
  }
}

// Named metrics with labels, and three ways out: a text table for people, JSON, and the
// Prometheus text exposition format (version 0.0.4) so a server can serve `/metrics` without
// prom-client.
//
// A metric is found by name plus its labels, serialised with sorted keys; that lookup builds a
// string, so hot code keeps the metric it got back instead of asking again per operation.
//
// Units: a Histogram records milliseconds (what performance.now() gives), but the exposition is
// in seconds, as Prometheus expects: `le` bounds, `_sum`, and names ending in `_seconds`.
//
// Collectors: a job that already keeps its numbers in plain fields publishes them with
// `collect(fn)`: `fn` copies them into the registry just before each read, so the hot path
// pays nothing and a scrape sees fresh values.
import { InvalidArgumentError } from '../core/errors.ts';
import { Histogram } from './histogram.ts';

/** Label names to values, e.g. `{ method: 'GET', status: 200 }`. */
export type Labels = Readonly<Record<string, string | number>>;

/** A metric kind. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/** A value that only goes up. */
export class Counter {
  #value = 0;

  /** Adds `n` (≥ 0). */
  inc(n = 1): void {
    if (!(n >= 0)) throw new InvalidArgumentError(`Expected a counter increment ≥ 0, got ${n}`);
    this.#value += n;
  }

  /** Sets the total: for a collector that copies a count kept elsewhere. */
  set(total: number): void {
    if (!(total >= 0)) throw new InvalidArgumentError(`Expected a counter total ≥ 0, got ${total}`);
    this.#value = total;
  }

  get value(): number {
    return this.#value;
  }

  /** Sets the count back to 0. */
  reset(): void {
    this.#value = 0;
  }
}

/** A value that goes up and down. */
export class Gauge {
  #value = 0;

  /** Sets the value. */
  set(value: number): void {
    this.#value = value;
  }

  /** Adds `n`. */
  inc(n = 1): void {
    this.#value += n;
  }

  /** Subtracts `n`. */
  dec(n = 1): void {
    this.#value -= n;
  }

  get value(): number {
    return this.#value;
  }

  /** Sets the value back to 0. */
  reset(): void {
    this.#value = 0;
  }
}

type Metric = Counter | Gauge | Histogram;

interface Series<M extends Metric> {
  readonly labels: Labels;
  readonly metric: M;
}

/** One metric family as {@link MetricsRegistry.families} shows it. */
export interface FamilyView {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Histogram bucket bounds, in seconds. */
  readonly buckets: readonly number[];
  readonly series: readonly { readonly labels: Labels; readonly metric: Counter | Gauge | Histogram }[];
}

interface Family {
  readonly name: string;
  readonly type: MetricType;
  help: string;
  buckets: readonly number[];
  readonly series: Map<string, Series<Metric>>;
}

/** One series in {@link MetricsRegistry.toJSON}. */
export interface MetricJSON {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: Labels;
  readonly value?: number;
  readonly count?: number;
  readonly sum?: number;
  readonly min?: number;
  readonly max?: number;
  readonly mean?: number;
  readonly p50?: number;
  readonly p90?: number;
  readonly p99?: number;
  readonly p999?: number;
}

/** Options of {@link MetricsRegistry.histogram}. */
export interface HistogramOptions {
  /** A description, written as `# HELP`. */
  help?: string | undefined;
  /**
   * Upper bounds (seconds) of the Prometheus `_bucket{le="…"}` lines for this metric name.
   * @default DEFAULT_BUCKETS
   */
  buckets?: readonly number[] | undefined;
}

/** Default Prometheus bucket bounds, in seconds (0.5 ms to 30 s). */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Copies values kept elsewhere into the registry just before it is read. */
export type Collector = (registry: MetricsRegistry) => void;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function keyOf(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  names.sort();
  let key = '';
  for (const name of names) key += `${name}\u0000${labels[name]}\u0001`;
  return key;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  return String(value);
}

/** `extra` (a histogram's `le`) goes first, as prom-client writes it. */
function formatLabels(labels: Labels, extra?: string): string {
  const parts: string[] = [];
  if (extra !== undefined) parts.push(extra);
  for (const name of Object.keys(labels).sort()) parts.push(`${name}="${escapeLabel(String(labels[name]))}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function labelText(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${labels[name]}`)
    .join(',');
}

function ms(value: number): string {
  if (value === 0) return '0';
  if (value >= 100) return value.toFixed(0);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** Columns before `textColumns` are left-aligned, the rest (numbers) right-aligned. */
function table(rows: readonly (readonly string[])[], textColumns: number): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/**
 * Counters, gauges and latency histograms by name and labels. `report()` prints a table
 * (count, total, mean, min, p50, p90, p99, max per histogram); `toPrometheus()` writes the
 * text exposition format. Histograms record milliseconds; the exposition writes them in
 * seconds (`le` bounds and `_sum`), so name them `…_seconds` as Prometheus does.
 *
 * @example
 * const registry = new MetricsRegistry();
 * const requests = registry.counter('http_requests_total', { method: 'GET' });
 * const latency = registry.histogram('http_request_duration_seconds', { method: 'GET' });
 * requests.inc();
 * latency.record(12.5);
 * console.log(registry.report());
 * reply.type('text/plain; version=0.0.4').send(registry.toPrometheus());
 */
export class MetricsRegistry {
  readonly #families = new Map<string, Family>();
  readonly #collectors = new Set<Collector>();
  #collecting = false;

  /**
   * Runs `fn` before every read (`toJSON`, `toPrometheus`, `report`, `families`), so values a job
   * keeps in plain fields are published without a cost per operation. Returns a function that
   * removes it. A collector that throws is skipped for that read.
   */
  collect(fn: Collector): () => void {
    if (typeof fn !== 'function') throw new InvalidArgumentError(`Expected a collector function, got ${typeof fn}`);
    this.#collectors.add(fn);
    return () => void this.#collectors.delete(fn);
  }

  #runCollectors(): void {
    if (this.#collecting) return;
    this.#collecting = true;
    try {
      for (const fn of this.#collectors) {
        try {
          fn(this);
        } catch {
          // A broken collector must not take /metrics down with it: its values stay as they were.
        }
      }
    } finally {
      this.#collecting = false;
    }
  }

  /**
   * Every metric family after running the collectors: name, type, help, bucket bounds (seconds)
   * and its series with their live metric objects. For readers such as a dashboard.
   */
  families(): FamilyView[] {
    this.#runCollectors();
    const out: FamilyView[] = [];
    for (const f of this.#families.values()) {
      out.push({ name: f.name, type: f.type, help: f.help, buckets: f.buckets, series: [...f.series.values()] });
    }
    return out;
  }

  /** The counter `name` with these `labels`, created on first use. */
  counter(name: string, labels: Labels = {}): Counter {
    return this.#get(name, 'counter', labels, () => new Counter());
  }

  /** The gauge `name` with these `labels`, created on first use. */
  gauge(name: string, labels: Labels = {}): Gauge {
    return this.#get(name, 'gauge', labels, () => new Gauge());
  }

  /** The histogram `name` with these `labels`, created on first use. */
  histogram(name: string, labels: Labels = {}, options: HistogramOptions = {}): Histogram {
    const histogram = this.#get(name, 'histogram', labels, () => new Histogram());
    const family = this.#families.get(name)!;
    if (options.help !== undefined) family.help = options.help;
    if (options.buckets !== undefined) family.buckets = checkBuckets(options.buckets);
    return histogram;
  }

  /** Sets the `# HELP` text of metric `name` (which must exist). */
  describe(name: string, help: string): void {
    const family = this.#families.get(name);
    if (family === undefined) throw new InvalidArgumentError(`No metric named ${JSON.stringify(name)}`);
    family.help = help;
  }

  /** Removes every metric, or the metrics named `name`. */
  clear(name?: string): void {
    if (name === undefined) this.#families.clear();
    else this.#families.delete(name);
  }

  /** Resets every metric's value to zero, keeping the metrics (handles stay valid). */
  reset(): void {
    for (const family of this.#families.values()) {
      for (const { metric } of family.series.values()) metric.reset();
    }
  }

  #get<M extends Metric>(name: string, type: MetricType, labels: Labels, create: () => M): M {
    let family = this.#families.get(name);
    if (family === undefined) {
      if (!NAME.test(name)) throw new InvalidArgumentError(`Expected a metric name matching ${NAME}, got ${JSON.stringify(name)}`);
      family = { name, type, help: '', buckets: DEFAULT_BUCKETS, series: new Map() };
      this.#families.set(name, family);
    } else if (family.type !== type) {
      throw new InvalidArgumentError(`Metric ${JSON.stringify(name)} is a ${family.type}, not a ${type}`);
    }
    const key = keyOf(labels);
    const found = family.series.get(key);
    if (found !== undefined) return found.metric as M;
    for (const label of Object.keys(labels)) {
      if (!LABEL.test(label) || label.startsWith('__') || (type === 'histogram' && label === 'le')) {
        throw new InvalidArgumentError(`Invalid label name ${JSON.stringify(label)} on metric ${JSON.stringify(name)}`);
      }
    }
    const metric = create();
    family.series.set(key, { labels: { ...labels }, metric });
    return metric;
  }

  /** Every series as plain data (histograms as their snapshot, in milliseconds). */
  toJSON(): MetricJSON[] {
    this.#runCollectors();
    const out: MetricJSON[] = [];
    for (const family of this.#families.values()) {
      for (const { labels, metric } of family.series.values()) {
        if (metric instanceof Histogram) out.push({ name: family.name, type: family.type, labels, ...metric.snapshot() });
        else out.push({ name: family.name, type: family.type, labels, value: metric.value });
      }
    }
    return out;
  }

  /**
   * The Prometheus text exposition format (0.0.4): `# HELP`/`# TYPE` per name, then a line per
   * series; histograms as cumulative `_bucket{le="…"}` lines ending with `le="+Inf"`, then
   * `_sum` and `_count`, in seconds. Serve it as `text/plain; version=0.0.4; charset=utf-8`.
   */
  toPrometheus(): string {
    this.#runCollectors();
    const lines: string[] = [];
    for (const family of this.#families.values()) {
      const { name, type } = family;
      if (family.help !== '') lines.push(`# HELP ${name} ${escapeHelp(family.help)}`);
      lines.push(`# TYPE ${name} ${type}`);
      for (const { labels, metric } of family.series.values()) {
        if (metric instanceof Histogram) {
          for (const le of family.buckets) {
            lines.push(`${name}_bucket${formatLabels(labels, `le="${formatNumber(le)}"`)} ${metric.countAtOrBelow(le * 1000)}`);
          }
          lines.push(`${name}_bucket${formatLabels(labels, 'le="+Inf"')} ${metric.count}`);
          lines.push(`${name}_sum${formatLabels(labels)} ${formatNumber(metric.sum / 1000)}`);
          lines.push(`${name}_count${formatLabels(labels)} ${metric.count}`);
        } else {
          lines.push(`${name}${formatLabels(labels)} ${formatNumber(metric.value)}`);
        }
      }
    }
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  /**
   * A plain-text table, like the seeds' PerformanceAnalyzer report: one row per histogram
   * (count, total, mean, min, p50, p90, p99, max, in ms), then counters and gauges.
   */
  report(): string {
    this.#runCollectors();
    const timings: string[][] = [['name', 'labels', 'count', 'total ms', 'mean', 'min', 'p50', 'p90', 'p99', 'max']];
    const values: string[][] = [['name', 'labels', 'type', 'value']];
    for (const family of this.#families.values()) {
      for (const { labels, metric } of family.series.values()) {
        if (metric instanceof Histogram) {
          const s = metric.snapshot();
          timings.push([family.name, labelText(labels), String(s.count), ms(s.sum), ms(s.mean), ms(s.min), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max)]);
        } else {
          values.push([family.name, labelText(labels), family.type, formatNumber(metric.value)]);
        }
      }
    }
    const parts: string[] = [];
    if (timings.length > 1) parts.push(table(timings, 2));
    if (values.length > 1) parts.push(table(values, 3));
    return parts.length === 0 ? '(no metrics)\n' : `${parts.join('\n\n')}\n`;
  }
}

function checkBuckets(buckets: readonly number[]): readonly number[] {
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (!Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!)) {
      throw new InvalidArgumentError(`Expected \`buckets\` to be finite and strictly increasing, got [${buckets.join(', ')}]`);
    }
  }
  return [...buckets];
}

/** The registry `monitor()` and spate's layers use when none is given. */
export const defaultRegistry = new MetricsRegistry();

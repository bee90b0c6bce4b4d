// What the dashboard reads: metric families as plain data, from a registry in this process or
// from the Prometheus text of another one. Both end up in the same shape, so one code path turns
// them into frames.
import { Histogram } from '../observe/histogram.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { DashboardError } from './errors.ts';

/** One series: a value (counter, gauge) or cumulative buckets (histogram, `le` in seconds). */
export interface SeriesSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  /** Cumulative counts per upper bound (seconds), the last bound `Infinity`. Histograms only. */
  readonly buckets?: readonly (readonly [number, number])[];
  /** Histograms only, seconds. */
  readonly sum?: number;
}

/** One metric family (a name and a type) with all its series. */
export interface FamilySample {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'untyped';
  readonly series: readonly SeriesSample[];
}

/** Every family at one instant. */
export interface Sample {
  /** ms since the epoch. */
  readonly t: number;
  readonly families: readonly FamilySample[];
}

/** Reads the families of `registry` now (running its collectors). */
export function sampleRegistry(registry: MetricsRegistry, t = Date.now()): Sample {
  const families: FamilySample[] = [];
  for (const f of registry.families()) {
    const series: SeriesSample[] = [];
    for (const { labels, metric } of f.series) {
      const l: Record<string, string> = {};
      for (const k of Object.keys(labels)) l[k] = String(labels[k]);
      if (metric instanceof Histogram) {
        const buckets: [number, number][] = f.buckets.map((le) => [le, metric.countAtOrBelow(le * 1000)]);
        buckets.push([Infinity, metric.count]);
        series.push({ labels: l, value: metric.count, buckets, sum: metric.sum / 1000 });
      } else {
        series.push({ labels: l, value: metric.value });
      }
    }
    families.push({ name: f.name, type: f.type, series });
  }
  return { t, families };
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

function number(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * Parses the Prometheus text exposition format (0.0.4) into families. Lines it cannot read are
 * skipped (a dashboard shows what it can); histograms are put together from their `_bucket`,
 * `_sum` and `_count` lines.
 */
export function parsePrometheus(text: string, t = Date.now()): Sample {
  const types = new Map<string, FamilySample['type']>();
  const order: string[] = [];
  const plain = new Map<string, SeriesSample[]>();
  const hist = new Map<string, Map<string, { labels: Record<string, string>; buckets: [number, number][]; sum: number; count: number }>>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m) {
        const type = m[2] === 'counter' || m[2] === 'gauge' || m[2] === 'histogram' ? m[2] : 'untyped';
        if (!types.has(m[1]!)) order.push(m[1]!);
        types.set(m[1]!, type);
      }
      continue;
    }
    const m = LINE.exec(line);
    if (!m) continue;
    const name = m[1]!;
    const labels: Record<string, string> = {};
    if (m[2] !== undefined && m[2] !== '') {
      LABEL.lastIndex = 0;
      let lm: RegExpExecArray | null;
      while ((lm = LABEL.exec(m[2])) !== null) labels[lm[1]!] = unescape(lm[2]!);
    }
    const value = number(m[3]!);
    if (Number.isNaN(value)) continue;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    if (base !== name && types.get(base) === 'histogram') {
      const le = labels.le;
      delete labels.le;
      const key = JSON.stringify(Object.entries(labels).sort());
      let series = hist.get(base);
      if (series === undefined) hist.set(base, (series = new Map()));
      let h = series.get(key);
      if (h === undefined) series.set(key, (h = { labels, buckets: [], sum: 0, count: 0 }));
      if (name.endsWith('_bucket') && le !== undefined) h.buckets.push([number(le), value]);
      else if (name.endsWith('_sum')) h.sum = value;
      else if (name.endsWith('_count')) h.count = value;
      continue;
    }
    if (!types.has(name)) {
      types.set(name, 'untyped');
      order.push(name);
    }
    let list = plain.get(name);
    if (list === undefined) plain.set(name, (list = []));
    list.push({ labels, value });
  }
  const families: FamilySample[] = [];
  for (const name of order) {
    const type = types.get(name)!;
    if (type === 'histogram') {
      const series = [...(hist.get(name)?.values() ?? [])].map((h) => {
        h.buckets.sort((a, b) => a[0] - b[0]);
        return { labels: h.labels, value: h.count, buckets: h.buckets, sum: h.sum };
      });
      families.push({ name, type, series });
    } else {
      families.push({ name, type, series: plain.get(name) ?? [] });
    }
  }
  return { t, families };
}

/** Fetches and parses a `/metrics` endpoint. Rejects with DashboardError when it does not answer with 200. */
export async function sampleUrl(url: string, options: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {}): Promise<Sample> {
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 5000)];
  if (options.signal) signals.push(options.signal);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any(signals), headers: { accept: 'text/plain' } });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new DashboardError(`${url} did not answer (${(error as Error).message})`, { cause: error });
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new DashboardError(`${url} answered HTTP ${res.status}`);
  }
  return parsePrometheus(await res.text());
}

// Turns successive samples into frames: what one tick of the dashboard shows. Everything is
// found by naming convention, so any job that publishes into the registry shows up:
//
//   throughput   counters named *_{pages,files,requests,items,messages,lines,jobs,tasks}_total (per second)
//   bytes        counters named *_bytes_total (per second)
//   latency      the histogram (…_seconds) with the most observations: percentiles of the last
//                interval from its bucket deltas (as Prometheus's histogram_quantile), and the
//                distribution over the whole run
//   in flight    gauges named *_in_flight, *_queued, *_queue_depth, *_pending, *_waiting, *_connections
//   errors       counters named *_errors_total (by `kind`/`code`), and any count with a `status`
//                label ≥ 400 ("HTTP 503")
//   hosts        every series with a `host` label
//   breakers     gauges named *_breaker_state (0 closed, 1 half-open, 2 open)
//   process      nodejs_eventloop_lag_*_seconds, process_resident_memory_bytes, nodejs_heap_size_used_bytes
import type { FamilySample, Sample, SeriesSample } from './sample.ts';

/** One host in a frame: totals so far of the series that carry its `host` label. */
export interface HostRow {
  host: string;
  requests: number;
  /** Responses by status class ("2xx" …). */
  statuses: Record<string, number>;
  errors: number;
  bytes: number;
  inFlight: number;
  /** Over the whole run, ms; null without a latency histogram for the host. */
  p50: number | null;
  p99: number | null;
  breaker: string | null;
}

/** One tick of the dashboard. Times in ms, rates per second. */
export interface Frame {
  /** ms since the epoch. */
  t: number;
  /** Seconds since the first frame. */
  elapsed: number;
  /** Items per second in the last interval, by counter (short name). */
  rates: Record<string, number>;
  /** Totals so far of the same counters. */
  totals: Record<string, number>;
  bytesPerSecond: number;
  bytesTotal: number;
  /** The latency histogram's name, percentiles of the last interval (ms; null when nothing was observed in it) and count so far. */
  latency: { name: string; count: number; p50: number | null; p90: number | null; p99: number | null } | null;
  /** The latency distribution over the whole run: upper bounds (ms; the last is Infinity) and counts per bucket. */
  histogram: { le: number[]; counts: number[] } | null;
  /** In-flight and queue gauges (short name → value). */
  depths: Record<string, number>;
  /** Errors so far by kind. */
  errors: Record<string, number>;
  hosts: HostRow[];
  breakers: Record<string, string>;
  /** Event-loop lag (ms) since the previous read. */
  lag: { p50: number; p99: number; max: number } | null;
  /** MB. */
  memory: { rss: number; heap: number } | null;
}

const THROUGHPUT = /_(pages|files|requests|items|messages|lines|jobs|tasks)_total$/;
const DEPTH = /_(in_flight|queued|queue_depth|pending|waiting|connections)$/;
const BREAKER_STATES = ['closed', 'half-open', 'open'];

/** `spate_crawl_pages_total` → `crawl pages`. */
export function shortName(name: string): string {
  return name.replace(/^spate_/, '').replace(/_total$/, '').replace(/_/g, ' ');
}

function sum(series: readonly SeriesSample[], keep: (s: SeriesSample) => boolean = () => true): number {
  let n = 0;
  for (const s of series) if (keep(s)) n += s.value;
  return n;
}

/** Adds the cumulative buckets of several series (same bounds expected; others are skipped). */
function mergeBuckets(series: readonly SeriesSample[]): [number, number][] | undefined {
  let out: [number, number][] | undefined;
  for (const s of series) {
    if (s.buckets === undefined) continue;
    if (out === undefined) out = s.buckets.map(([le, n]) => [le, n]);
    else if (out.length === s.buckets.length) for (let i = 0; i < out.length; i++) out[i]![1] += s.buckets[i]![1];
  }
  return out;
}

/** The `q` quantile (0..1) of cumulative buckets, linearly interpolated inside a bucket; ms, or null when empty. */
export function quantile(buckets: readonly (readonly [number, number])[], q: number): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, n] of buckets) {
    if (n >= rank) {
      if (le === Infinity) return lower * 1000;
      const inside = n - below;
      const fraction = inside > 0 ? (rank - below) / inside : 1;
      return (lower + (le - lower) * fraction) * 1000;
    }
    if (le !== Infinity) lower = le;
    below = n;
  }
  return lower * 1000;
}

function errorKind(family: string, labels: Readonly<Record<string, string>>): string {
  return labels.kind ?? labels.code ?? labels.reason ?? shortName(family).replace(/ errors$/, '');
}

/**
 * Builds frames from samples taken one after the other: rates and interval percentiles need
 * the previous sample.
 */
export class FrameBuilder {
  #previous: Sample | undefined;
  #first: number | undefined;

  /** The frame for `sample`, the next one taken; rates are 0 in the first frame (nothing to compare with). */
  next(sample: Sample): Frame {
    const previous = this.#previous;
    this.#previous = sample;
    this.#first ??= sample.t;
    const dt = previous === undefined ? 0 : (sample.t - previous.t) / 1000;
    const before = new Map<string, FamilySample>();
    for (const f of previous?.families ?? []) before.set(f.name, f);

    const frame: Frame = {
      t: sample.t,
      elapsed: Math.round(sample.t - this.#first) / 1000,
      rates: {},
      totals: {},
      bytesPerSecond: 0,
      bytesTotal: 0,
      latency: null,
      histogram: null,
      depths: {},
      errors: {},
      hosts: [],
      breakers: {},
      lag: null,
      memory: null,
    };
    // A family missing from the previous sample (the job started after it) counts from 0.
    const rate = (now: number, then: number | undefined) => (dt > 0 ? Math.max(0, now - (then ?? 0)) / dt : 0);
    const hosts = new Map<string, HostRow>();
    const host = (name: string): HostRow => {
      let row = hosts.get(name);
      if (row === undefined) {
        row = { host: name, requests: 0, statuses: {}, errors: 0, bytes: 0, inFlight: 0, p50: null, p99: null, breaker: null };
        hosts.set(name, row);
      }
      return row;
    };
    let latency: FamilySample | undefined;
    let latencyCount = -1;
    const gauge = (name: string) => sample.families.find((f) => f.name === name)?.series[0]?.value;

    for (const f of sample.families) {
      const name = f.name;
      const prev = before.get(name);
      if (f.type === 'histogram') {
        if (name.endsWith('_seconds') && !name.startsWith('nodejs_') && !name.startsWith('process_')) {
          const count = sum(f.series);
          if (count > latencyCount) {
            latency = f;
            latencyCount = count;
          }
        }
        for (const s of f.series) {
          const h = s.labels.host;
          if (h !== undefined && s.buckets !== undefined) {
            const row = host(h);
            row.p50 = quantile(s.buckets, 0.5);
            row.p99 = quantile(s.buckets, 0.99);
          }
        }
        continue;
      }
      if (f.type === 'counter' || f.type === 'untyped') {
        if (THROUGHPUT.test(name)) {
          const total = sum(f.series);
          frame.totals[shortName(name)] = total;
          frame.rates[shortName(name)] = rate(total, prev === undefined ? undefined : sum(prev.series));
        }
        if (name.endsWith('_bytes_total')) {
          const total = sum(f.series);
          if (total > frame.bytesTotal) {
            frame.bytesTotal = total;
            frame.bytesPerSecond = rate(total, prev === undefined ? undefined : sum(prev.series));
          }
        }
        if (name.endsWith('_errors_total')) {
          for (const s of f.series) {
            const kind = errorKind(name, s.labels);
            frame.errors[kind] = (frame.errors[kind] ?? 0) + s.value;
          }
        }
        for (const s of f.series) {
          const status = Number(s.labels.status);
          if (status >= 400 && !name.endsWith('_errors_total') && s.value > 0) {
            const kind = `HTTP ${status}`;
            frame.errors[kind] = Math.max(frame.errors[kind] ?? 0, 0) + s.value;
          }
          const h = s.labels.host;
          if (h === undefined) continue;
          const row = host(h);
          if (name.endsWith('_errors_total')) row.errors += s.value;
          else if (name.endsWith('_bytes_total')) row.bytes += s.value;
          else if (s.labels.status !== undefined) {
            const cls = `${s.labels.status.slice(0, 1)}xx`;
            row.statuses[cls] = (row.statuses[cls] ?? 0) + s.value;
          } else if (THROUGHPUT.test(name)) row.requests += s.value;
        }
        continue;
      }
      if (f.type === 'gauge') {
        if (DEPTH.test(name)) frame.depths[shortName(name)] = sum(f.series);
        for (const s of f.series) {
          const h = s.labels.host;
          if (h === undefined) continue;
          if (name.endsWith('_breaker_state')) {
            const state = BREAKER_STATES[s.value] ?? String(s.value);
            host(h).breaker = state;
            frame.breakers[h] = state;
          } else if (name.endsWith('_in_flight')) host(h).inFlight += s.value;
        }
      }
    }

    if (latency !== undefined) {
      const now = mergeBuckets(latency.series);
      const then = mergeBuckets(before.get(latency.name)?.series ?? []);
      if (now !== undefined) {
        // A count that went down means the process behind a URL restarted: start over from its totals.
        const comparable = then !== undefined && then.length === now.length && now.every(([, n], i) => n >= then[i]![1]);
        const delta = comparable ? now.map(([le, n], i) => [le, n - then[i]![1]] as [number, number]) : now;
        frame.latency = {
          name: latency.name,
          count: now.at(-1)![1],
          p50: quantile(delta, 0.5),
          p90: quantile(delta, 0.9),
          p99: quantile(delta, 0.99),
        };
        const counts = now.map(([, n], i) => n - (i === 0 ? 0 : now[i - 1]![1]));
        frame.histogram = { le: now.map(([le]) => le * 1000), counts };
      }
    }
    const p50 = gauge('nodejs_eventloop_lag_p50_seconds');
    const p99 = gauge('nodejs_eventloop_lag_p99_seconds');
    const max = gauge('nodejs_eventloop_lag_max_seconds');
    if (p99 !== undefined) frame.lag = { p50: (p50 ?? 0) * 1000, p99: p99 * 1000, max: (max ?? p99) * 1000 };
    const rss = gauge('process_resident_memory_bytes');
    const heap = gauge('nodejs_heap_size_used_bytes');
    if (rss !== undefined) frame.memory = { rss: rss / 1e6, heap: (heap ?? 0) / 1e6 };
    frame.hosts = [...hosts.values()].sort((a, b) => b.requests - a.requests || a.host.localeCompare(b.host));
    return frame;
  }
}

// Per-host counters and a latency histogram. Plain fields, updated in place: a request touches a
// few numbers and one histogram bucket.
import type { CircuitState } from '../core/circuit-breaker.ts';
import { Histogram, type HistogramSnapshot } from '../observe/histogram.ts';
import type { MetricsRegistry } from '../observe/registry.ts';

/** Request latency bucket bounds (seconds): fine below 100 ms, where a loopback or LAN host answers. */
export const HTTP_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

const BREAKER: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Copies one host's figures into `r` (see Session.publishMetrics). */
export function publishHost(r: MetricsRegistry, host: string, m: HostMetrics, breaker: CircuitState | undefined): void {
  const labels = { host };
  r.counter('spate_http_requests_total', labels).set(m.requests);
  r.counter('spate_http_retries_total', labels).set(m.retries);
  r.counter('spate_http_bytes_total', labels).set(m.bytes);
  r.gauge('spate_http_in_flight', labels).set(m.inFlight);
  for (const [status, n] of m.statuses) r.counter('spate_http_responses_total', { host, status }).set(n);
  for (const [kind, n] of m.errors) r.counter('spate_http_errors_total', { host, kind }).set(n);
  const h = r.histogram('spate_http_request_duration_seconds', labels, { buckets: HTTP_BUCKETS, help: 'HTTP attempt latency, to the last body byte, in seconds' });
  if (h.count !== m.latency.count) {
    h.reset();
    h.merge(m.latency);
  }
  if (breaker !== undefined) r.gauge('spate_http_breaker_state', labels).set(BREAKER[breaker]);
}

/** Request counts and latencies of one host, from `Session.hostMetrics()`. */
export interface HostMetricsSnapshot {
  host: string;
  requests: number;
  retries: number;
  errors: Record<string, number>;
  statuses: Record<string, number>;
  bytes: number;
  inFlight: number;
  latency: HistogramSnapshot;
}

export class HostMetrics {
  readonly host: string;
  /** Attempts sent (a retried request counts each attempt). */
  requests = 0;
  retries = 0;
  bytes = 0;
  inFlight = 0;
  readonly errors = new Map<string, number>();
  readonly statuses = new Map<number, number>();
  /** Milliseconds from sending an attempt to its last body byte (or its failure). */
  readonly latency = new Histogram();

  constructor(host: string) {
    this.host = host;
  }

  status(code: number): void {
    this.statuses.set(code, (this.statuses.get(code) ?? 0) + 1);
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  snapshot(): HostMetricsSnapshot {
    return {
      host: this.host,
      requests: this.requests,
      retries: this.retries,
      errors: Object.fromEntries(this.errors),
      statuses: Object.fromEntries([...this.statuses].map(([k, v]) => [String(k), v])),
      bytes: this.bytes,
      inFlight: this.inFlight,
      latency: this.latency.snapshot(),
    };
  }
}

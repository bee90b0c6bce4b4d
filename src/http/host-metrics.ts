// Per-host counters and a latency histogram. Plain fields, updated in place: a request touches a
// few numbers and one histogram bucket.
import { Histogram, type HistogramSnapshot } from '../observe/histogram.ts';

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

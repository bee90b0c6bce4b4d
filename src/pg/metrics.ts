// A pool's metrics on spate/observe, kept as handles so the hot path does no name lookups.
import type { Histogram } from '../observe/histogram.ts';
import type { ResourcePool } from '../core/resource-pool.ts';
import type { Counter, Gauge, MetricsRegistry } from '../observe/registry.ts';

// Seconds, as the registry's exposition is (histograms record ms; /metrics writes seconds).
const BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];

export class PoolMetrics {
  readonly inUse: Gauge;
  readonly idle: Gauge;
  readonly waiting: Gauge;
  readonly acquireWait: Histogram;
  readonly queryDuration: Histogram;
  readonly queryTimeouts: Counter;
  readonly acquireTimeouts: Counter;
  readonly retries: Counter;
  readonly errors: Counter;

  constructor(registry: MetricsRegistry, pool: string) {
    const labels = { pool };
    this.inUse = registry.gauge('spate_pg_connections_in_use', labels);
    this.idle = registry.gauge('spate_pg_connections_idle', labels);
    this.waiting = registry.gauge('spate_pg_acquire_waiting', labels);
    this.acquireWait = registry.histogram('spate_pg_acquire_wait_seconds', labels, { buckets: BUCKETS, help: 'Time from acquire() to a connection, in seconds' });
    this.queryDuration = registry.histogram('spate_pg_query_duration_seconds', labels, { buckets: BUCKETS, help: 'Statement latency, in seconds' });
    this.queryTimeouts = registry.counter('spate_pg_query_timeouts_total', labels);
    this.acquireTimeouts = registry.counter('spate_pg_acquire_timeouts_total', labels);
    this.retries = registry.counter('spate_pg_transaction_retries_total', labels);
    this.errors = registry.counter('spate_pg_query_errors_total', labels);
    registry.describe('spate_pg_connections_in_use', 'Connections lent out');
    registry.describe('spate_pg_connections_idle', 'Open connections waiting in the pool');
    registry.describe('spate_pg_acquire_waiting', 'Callers waiting for a connection');
    registry.describe('spate_pg_query_timeouts_total', 'Statements cancelled on the server after their timeout');
    registry.describe('spate_pg_acquire_timeouts_total', 'Acquires that waited past their timeout');
    registry.describe('spate_pg_transaction_retries_total', 'Transactions run again after a serialization failure or deadlock');
    registry.describe('spate_pg_query_errors_total', 'Statements that failed');
  }
}

/**
 * Keeps the gauges of `pool` fresh: a collector copies its counts just before each read of the
 * registry, so acquire and release pay nothing for them. The collector holds the pool weakly (a
 * pool dropped without `close()` does not stay alive in a shared registry); the returned function
 * copies the counts a last time and removes it.
 */
export function watchGauges<T>(registry: MetricsRegistry, metrics: PoolMetrics, pool: ResourcePool<T>): () => void {
  const ref = new WeakRef(pool);
  const copy = (): void => {
    const target = ref.deref();
    if (target === undefined) {
      stop();
      return;
    }
    const s = target.stats();
    metrics.inUse.set(s.leased);
    metrics.idle.set(s.idle);
    metrics.waiting.set(s.waiting);
  };
  const stop = registry.collect(copy);
  return () => {
    copy();
    stop();
  };
}

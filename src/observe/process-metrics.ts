// The process's own figures (memory, CPU, event-loop lag), published into a registry by a
// collector, so they are read when the registry is, not on a timer of their own.
import { InvalidArgumentError } from '../core/errors.ts';
import { LoopLagMonitor } from './loop-lag.ts';
import type { MetricsRegistry } from './registry.ts';

const registered = new WeakMap<MetricsRegistry, () => void>();

/**
 * Publishes the process's figures into `registry` under prom-client's default names (so existing
 * Grafana panels keep working): `process_resident_memory_bytes`, `nodejs_heap_size_used_bytes`,
 * `nodejs_heap_size_total_bytes`, `nodejs_external_memory_bytes`, `process_cpu_{user,system}_seconds_total`,
 * `process_cpu_seconds_total`, `process_start_time_seconds`, and
 * `nodejs_eventloop_lag_{p50,p99,max}_seconds` (the lag since the previous read). Once per registry: a second call returns the first call's stop function. The stop
 * function removes the collector and stops the lag sampler.
 *
 * @example
 * const stop = collectProcessMetrics(registry);
 * // … serve registry.toPrometheus() …
 * stop();
 */
export function collectProcessMetrics(registry: MetricsRegistry): () => void {
  if (registry === null || typeof registry !== 'object' || typeof registry.collect !== 'function') {
    throw new InvalidArgumentError('Expected a MetricsRegistry');
  }
  const existing = registered.get(registry);
  if (existing !== undefined) return existing;
  const lag = new LoopLagMonitor().start();
  const startSeconds = Math.round((Date.now() - performance.now()) / 1000);
  const remove = registry.collect((r) => {
    const memory = process.memoryUsage();
    r.gauge('process_resident_memory_bytes').set(memory.rss);
    r.gauge('nodejs_heap_size_used_bytes').set(memory.heapUsed);
    r.gauge('nodejs_heap_size_total_bytes').set(memory.heapTotal);
    r.gauge('nodejs_external_memory_bytes').set(memory.external);
    const cpu = process.cpuUsage();
    r.counter('process_cpu_user_seconds_total').set(cpu.user / 1e6);
    r.counter('process_cpu_system_seconds_total').set(cpu.system / 1e6);
    r.counter('process_cpu_seconds_total').set((cpu.user + cpu.system) / 1e6);
    r.gauge('process_start_time_seconds').set(startSeconds);
    const stats = lag.stats();
    lag.reset();
    r.gauge('nodejs_eventloop_lag_p50_seconds').set(stats.p50 / 1000);
    r.gauge('nodejs_eventloop_lag_p99_seconds').set(stats.p99 / 1000);
    r.gauge('nodejs_eventloop_lag_max_seconds').set(stats.max / 1000);
  });
  const stop = () => {
    remove();
    lag.stop();
    registered.delete(registry);
  };
  registered.set(registry, stop);
  return stop;
}

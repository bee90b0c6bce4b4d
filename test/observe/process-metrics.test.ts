import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectProcessMetrics } from '../../src/observe/process-metrics.ts';
import { MetricsRegistry } from '../../src/observe/registry.ts';

test('collectProcessMetrics() publishes memory, CPU and event-loop lag under prom-client\'s names, once per registry', () => {
  const r = new MetricsRegistry();
  const stop = collectProcessMetrics(r);
  assert.equal(collectProcessMetrics(r), stop, 'a second call returns the first stop function');
  const text = r.toPrometheus();
  for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds', 'process_start_time_seconds']) {
    assert.match(text, new RegExp(`^${name} [0-9.e+-]+$`, 'm'), name);
  }
  const rss = r.toJSON().find((m) => m.name === 'process_resident_memory_bytes')!.value!;
  assert.ok(rss > 1e6);
  stop();
  r.clear();
  assert.equal(r.toPrometheus(), '', 'stopped: nothing is published any more');
  const again = collectProcessMetrics(r);
  assert.notEqual(again, stop, 'after stop, it can start again');
  again();
});

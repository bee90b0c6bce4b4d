// spate/observe: metrics (histograms, counters, gauges; text, JSON and Prometheus output), a
// function monitor, event-loop lag, and asyncio-style debug mode. Imports only the core.
export { Histogram, HISTOGRAM_RELATIVE_ERROR, type HistogramSnapshot } from './histogram.ts';
export {
  MetricsRegistry,
  Counter,
  Gauge,
  defaultRegistry,
  DEFAULT_BUCKETS,
  type Labels,
  type MetricType,
  type MetricJSON,
  type HistogramOptions,
  type Collector,
  type FamilyView,
} from './registry.ts';
export { collectProcessMetrics } from './process-metrics.ts';
export { monitor, type MonitorOptions, type MonitorStats, type Monitored } from './monitor.ts';
export { LoopLagMonitor, type LoopLagOptions, type LoopLagStats } from './loop-lag.ts';
export { enableDebug, debugScope, type DebugOptions, type DebugReport, type DebugSession, type PendingTaskInfo } from './debug.ts';

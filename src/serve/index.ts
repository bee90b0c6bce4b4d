// spate/serve: the seeds' API service on Fastify (metrics, logs, background tasks, graceful
// shutdown), the background-task registry, and a node:cluster runner for N processes on one port.
export { buildApi, startApiServer, SEED_DELAYS, type ApiOptions, type ApiServerOptions, type ApiServer, type ApiDelays } from './api.ts';
export {
  BackgroundTasks,
  type BackgroundTask,
  type BackgroundTaskOptions,
  type BackgroundTasksOptions,
  type BackgroundTaskStats,
  type BackgroundTaskState,
  type BackgroundContext,
  type BackgroundFn,
  type BackgroundLogger,
  type StopOptions,
} from './background.ts';
export { runCluster, type ClusterOptions } from './cluster.ts';
export { ClientClosedError, ServerClosingError } from './errors.ts';

// spate/exec: CPU-bound work on worker threads, with spate's cancellation and shutdown contracts.
export { Executor, type ExecutorOptions, type RunOptions, type ExecutorStats, type ExecutorState } from './executor.ts';

// spate/core: asyncio's concurrency model on Promises and AbortSignal. No I/O, no dependencies.
export * from './errors.ts';
export { type Clock, type Timer, systemClock, getClock, setDefaultClock } from './clock.ts';
export { onAbort, LinkedController, throwIfAborted } from './signals.ts';
export { Deque } from './deque.ts';
export { channels } from './diagnostics.ts';
export { sleep, type SleepOptions } from './sleep.ts';
export { type Operation, type Wrapped, type Policy, type PolicyFunction, compose } from './policy.ts';
export { type Backoff, type Jitter, type ExponentialBackoffOptions, exponentialBackoff, constantBackoff } from './backoff.ts';
export { type RetryContext, type RetryEvent, type RetryOptions, retry, withRetry, retryAttempts } from './retry.ts';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.ts';
export { type RateLimiterOptions, type RateLimiterAcquireOptions, type RateLimiterStats, RateLimiter } from './rate-limiter.ts';
export { type CircuitState, type CircuitStateChange, type CircuitBreakerOptions, type CircuitBreakerStats, CircuitBreaker } from './circuit-breaker.ts';
export { type ResourcePoolOptions, type PoolAcquireOptions, type ResourcePoolStats, ResourcePool, Lease } from './resource-pool.ts';
export { Queue, type QueueStorage, type QueueOptions, type QueueWaitOptions, type QueueShutdownOptions, type QueueStats } from './queue.ts';
export { PriorityQueue, defaultCompare, type PriorityQueueOptions } from './priority-queue.ts';
export { LifoQueue } from './lifo-queue.ts';

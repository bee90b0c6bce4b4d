// node:diagnostics_channel channels that spate's primitives publish on, so metrics and debug
// tools (src/observe) can listen without the core knowing about any logger. Publishers check
// `hasSubscribers` first: an unobserved channel costs one property read.
import { channel } from 'node:diagnostics_channel';

/** The diagnostics channels spate publishes on, by event (`spate:task:*`, `spate:retry`, …). */
export const channels = {
  /** A task started: `{ task }`. */
  taskStart: channel('spate:task:start'),
  /** A task settled: `{ task, state }`. */
  taskEnd: channel('spate:task:end'),
  /** A task group's scope ended: `{ group, children, failed }`. */
  taskGroupEnd: channel('spate:task-group:end'),
  /** A waiter started waiting on a primitive: `{ primitive, kind }`. */
  waitStart: channel('spate:wait:start'),
  /** A circuit breaker changed state: `{ breaker, from, to }`. */
  breakerState: channel('spate:circuit-breaker:state'),
  /** A retry is about to wait and try again: `{ attempt, delay, error }`. */
  retry: channel('spate:retry'),
  /** A resource pool created or destroyed a resource: `{ pool, event }`. */
  pool: channel('spate:pool'),
} as const;

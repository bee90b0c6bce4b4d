// spate/core: asyncio's concurrency model on Promises and AbortSignal. No I/O, no dependencies.
export * from './errors.ts';
export { type Clock, type Timer, systemClock, getClock, setDefaultClock } from './clock.ts';
export { onAbort, LinkedController, throwIfAborted } from './signals.ts';
export { Deque } from './deque.ts';
export { channels } from './diagnostics.ts';
export { sleep, type SleepOptions } from './sleep.ts';

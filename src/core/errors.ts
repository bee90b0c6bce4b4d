// Every error spate throws is one of these: a `name`, a stable literal `code` to switch on, and
// `cause` where there is one. `codes.test.ts` checks each code is documented in the README.

/** Base class of every spate error. */
export class SpateError extends Error {
  readonly code: string = 'SPATE_ERROR';
  override name = 'SpateError';
}

/** A deadline passed: `timeout()`, `waitFor()`, an acquire with `timeout`, a queue `get` with `timeout`. */
export class TimeoutError extends SpateError {
  override readonly code = 'SPATE_TIMEOUT';
  override name = 'TimeoutError';
  constructor(message = 'Operation timed out', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The default reason of a task cancelled without one (asyncio's CancelledError). */
export class CancelledError extends SpateError {
  override readonly code = 'SPATE_CANCELLED';
  override name = 'CancelledError';
  constructor(message = 'Task was cancelled', options?: ErrorOptions) {
    super(message, options);
  }
}

/** All the failures of a task group, raised together (`errors`; `cause` is the first). */
export class TaskGroupError extends AggregateError {
  readonly code = 'SPATE_TASK_GROUP';
  override name = 'TaskGroupError';
  constructor(errors: Iterable<unknown>, message = 'One or more tasks failed', options?: ErrorOptions) {
    super(errors, message, options);
  }
}

/** `result()` or `error()` on a task that is still pending (asyncio's InvalidStateError). */
export class InvalidStateError extends SpateError {
  override readonly code = 'SPATE_INVALID_STATE';
  override name = 'InvalidStateError';
}

/** An option had a wrong type or value; says which and what it got. */
export class InvalidArgumentError extends SpateError {
  override readonly code = 'SPATE_INVALID_ARGUMENT';
  override name = 'InvalidArgumentError';
}

/** `putNowait` on a full queue. */
export class QueueFull extends SpateError {
  override readonly code = 'SPATE_QUEUE_FULL';
  override name = 'QueueFull';
  constructor(message = 'Queue is full') {
    super(message);
  }
}

/** `getNowait` on an empty queue. */
export class QueueEmpty extends SpateError {
  override readonly code = 'SPATE_QUEUE_EMPTY';
  override name = 'QueueEmpty';
  constructor(message = 'Queue is empty') {
    super(message);
  }
}

/** `put` after `shutdown()`, or `get` on a shut-down queue that is empty (Python 3.13's QueueShutDown). */
export class QueueShutDown extends SpateError {
  override readonly code = 'SPATE_QUEUE_SHUT_DOWN';
  override name = 'QueueShutDown';
  constructor(message = 'Queue is shut down') {
    super(message);
  }
}

/** A barrier was reset or aborted while tasks waited on it. */
export class BrokenBarrierError extends SpateError {
  override readonly code = 'SPATE_BROKEN_BARRIER';
  override name = 'BrokenBarrierError';
  constructor(message = 'Barrier is broken') {
    super(message);
  }
}

/** Releasing a lock that is not held, a `BoundedSemaphore` above its initial value, or `taskDone()` called more times than there were items. */
export class ReleaseError extends SpateError {
  override readonly code = 'SPATE_RELEASE';
  override name = 'ReleaseError';
}

/** A call went to a circuit breaker that is open (or half-open with its probes in use). */
export class CircuitOpenError extends SpateError {
  override readonly code = 'SPATE_CIRCUIT_OPEN';
  override name = 'CircuitOpenError';
  /** When the breaker will let a probe through, in the breaker clock's milliseconds. */
  readonly retryAt: number;
  constructor(message = 'Circuit is open', retryAt = 0, options?: ErrorOptions) {
    super(message, options);
    this.retryAt = retryAt;
  }
}

/** A call on something already closed or destroyed (pool, executor, session, queue). */
export class ClosedError extends SpateError {
  override readonly code = 'SPATE_CLOSED';
  override name = 'ClosedError';
}

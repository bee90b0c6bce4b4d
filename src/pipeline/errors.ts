// Errors of spate/pipeline (so far: the broker transports, BullMQ on Redis and RabbitMQ). Listed in docs/errors.md.
import { SpateError } from '../core/index.ts';

/** A broker URL with a scheme spate has no transport for, or one it cannot parse. */
export class BrokerUrlError extends SpateError {
  override readonly code = 'SPATE_BROKER_URL';
  override name = 'BrokerUrlError';
}

/**
 * A worker's completion was refused because its lease is stale: the broker handed the job to
 * another worker in the meantime (a stalled lock, a lost connection). The stale result is dropped.
 */
export class FencedError extends SpateError {
  override readonly code = 'SPATE_BROKER_FENCED';
  override name = 'FencedError';
}

/** A job ran past the broker's own limit on unacknowledged work (RabbitMQ's `consumer_timeout`). */
export class ConsumerTimeoutError extends SpateError {
  override readonly code = 'SPATE_BROKER_CONSUMER_TIMEOUT';
  override name = 'ConsumerTimeoutError';
}

/** A worker module that does not export a stage (`stage` or the default export). */
export class WorkerModuleError extends SpateError {
  override readonly code = 'SPATE_BROKER_WORKER_MODULE';
  override name = 'WorkerModuleError';
}

// spate/http: a resilient HTTP client on undici.
export { Session, type SessionOptions, type RequestOptions, type Timeouts, type RetryPolicy, type HostLimits } from './session.ts';
export { HttpResponse, type Headers, type ResponseTiming } from './response.ts';
export { batch, batchStream, type BatchRequest, type BatchOptions, type BatchResult } from './batch.ts';
export { HttpStatusError, HttpTimeoutError, NetworkError, BodyTooLargeError, InvalidJsonError, TooManyRedirectsError, type TimeoutPhase } from './errors.ts';
export { RETRY_STATUSES, IDEMPOTENT_METHODS, retryAfterMs } from './classify.ts';
export type { HostMetricsSnapshot } from './host-metrics.ts';
export { fanout, formatFanout, type FanoutRow, type FanoutOptions } from './fanout.ts';

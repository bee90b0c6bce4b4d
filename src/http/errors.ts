// The HTTP client's errors. Each has a `name` and a literal `code`; timeouts are core
// `TimeoutError`s (so one `instanceof` catches every deadline) with the phase that ran out.
import { SpateError, TimeoutError } from '../core/errors.ts';

/** Which deadline of a request ran out. */
export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total';

/** A phase of a request ran out of time. `phase` says which. */
export class HttpTimeoutError extends TimeoutError {
  override name = 'HttpTimeoutError';
  readonly phase: TimeoutPhase;
  readonly url: string;
  constructor(phase: TimeoutPhase, url: string, ms: number | undefined, options?: ErrorOptions) {
    super(`${phase} timeout${ms === undefined ? '' : ` after ${ms} ms`}: ${url}`, options);
    this.phase = phase;
    this.url = url;
  }
}

/** A response status of 400 or more, when the request asked to throw on it (the default). */
export class HttpStatusError extends SpateError {
  override readonly code = 'SPATE_HTTP_STATUS';
  override name = 'HttpStatusError';
  readonly status: number;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Up to 4 KiB of the body, for the message and for debugging. */
  readonly body: string;
  constructor(status: number, url: string, headers: Record<string, string | string[] | undefined>, body: string) {
    super(`HTTP ${status} from ${url}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.status = status;
    this.url = url;
    this.headers = headers;
    this.body = body;
  }
}

/** The connection failed or broke (refused, reset, closed early, a body shorter than announced). */
export class NetworkError extends SpateError {
  override readonly code = 'SPATE_HTTP_NETWORK';
  override name = 'NetworkError';
  readonly url: string;
  /** The underlying code: `ECONNRESET`, `ECONNREFUSED`, `UND_ERR_SOCKET`, … */
  readonly reason: string;
  constructor(url: string, reason: string, options?: ErrorOptions) {
    super(`network error (${reason}): ${url}`, options);
    this.url = url;
    this.reason = reason;
  }
}

/** The body was larger than `maxBodyBytes`. */
export class BodyTooLargeError extends SpateError {
  override readonly code = 'SPATE_HTTP_BODY_TOO_LARGE';
  override name = 'BodyTooLargeError';
  readonly limit: number;
  constructor(url: string, limit: number) {
    super(`response body over ${limit} bytes: ${url}`);
    this.limit = limit;
  }
}

/** `json()` on a body that is not valid JSON; `cause` is the SyntaxError. */
export class InvalidJsonError extends SpateError {
  override readonly code = 'SPATE_HTTP_INVALID_JSON';
  override name = 'InvalidJsonError';
  readonly url: string;
  /** Up to 200 characters of the body. */
  readonly snippet: string;
  constructor(url: string, snippet: string, options?: ErrorOptions) {
    super(`invalid JSON from ${url}: ${JSON.stringify(snippet)}`, options);
    this.url = url;
    this.snippet = snippet;
  }
}

/** More redirects than `maxRedirects`, or a redirect loop. */
export class TooManyRedirectsError extends SpateError {
  override readonly code = 'SPATE_HTTP_TOO_MANY_REDIRECTS';
  override name = 'TooManyRedirectsError';
  readonly chain: string[];
  constructor(chain: string[], limit: number) {
    super(`more than ${limit} redirects: ${chain.slice(0, 5).join(' → ')}${chain.length > 5 ? ' → …' : ''}`);
    this.chain = chain;
  }
}

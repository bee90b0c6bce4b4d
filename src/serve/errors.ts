// The API service's own errors. Each carries the HTTP `statusCode` the error handler answers
// with (fastify reads `statusCode` the same way), a `name` and a literal `code`.
import { SpateError } from '../core/errors.ts';

/** The client went away before its response was ready (nginx's 499; nobody is left to read it). */
export class ClientClosedError extends SpateError {
  override readonly code = 'SPATE_CLIENT_CLOSED';
  override name = 'ClientClosedError';
  readonly statusCode = 499;
  constructor(message = 'Client closed the request', options?: ErrorOptions) {
    super(message, options);
  }
}

/** The server stopped waiting for a request at the end of its shutdown grace period. */
export class ServerClosingError extends SpateError {
  override readonly code = 'SPATE_SERVER_CLOSING';
  override name = 'ServerClosingError';
  readonly statusCode = 503;
  constructor(message = 'Server is shutting down', options?: ErrorOptions) {
    super(message, options);
  }
}

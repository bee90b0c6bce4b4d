// How errors and statuses are judged: which are retried, which count against a host's circuit
// breaker, and what undici's errors become.
import { CircuitOpenError, TimeoutError } from '../core/errors.ts';
import { HttpStatusError, HttpTimeoutError, NetworkError } from './errors.ts';

/** Statuses retried by default: the transient ones. */
export const RETRY_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];

/** Methods retried by default: RFC 9110's idempotent ones. */
export const IDEMPOTENT_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];

const TIMEOUT_CODES: Record<string, 'connect' | 'headers' | 'body'> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect',
  UND_ERR_HEADERS_TIMEOUT: 'headers',
  UND_ERR_BODY_TIMEOUT: 'body',
};

/**
 * Turns what undici (or a decoder) threw into a spate error. Errors that are already spate's,
 * and aborts, pass through unchanged.
 */
export function toHttpError(error: unknown, url: string, timeouts: { connect: number; headers: number; body: number }): unknown {
  if (!(error instanceof Error)) return error;
  if (error instanceof TimeoutError || error instanceof NetworkError || error instanceof HttpStatusError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    const phase = TIMEOUT_CODES[code];
    if (phase) return new HttpTimeoutError(phase, url, timeouts[phase], { cause: error });
    if (code.startsWith('UND_ERR_') && code !== 'UND_ERR_ABORTED' && code !== 'UND_ERR_INVALID_ARG') return new NetworkError(url, code, { cause: error });
    if (/^E[A-Z]+$/.test(code)) return new NetworkError(url, code, { cause: error });
    if (code.startsWith('Z_') || code === 'ERR_STREAM_PREMATURE_CLOSE') return new NetworkError(url, code, { cause: error });
  }
  if (error.message === 'other side closed' || error.message === 'premature close') return new NetworkError(url, 'ECONNRESET', { cause: error });
  return error;
}

/** Whether an error is worth another attempt (before budget and method checks). */
export function isTransient(error: unknown, statuses: readonly number[]): boolean {
  if (error instanceof CircuitOpenError) return false;
  if (error instanceof HttpStatusError) return statuses.includes(error.status);
  if (error instanceof HttpTimeoutError) return error.phase !== 'total';
  return error instanceof NetworkError;
}

/** Whether an error says the host is unwell (counts toward opening its breaker). */
export function isHostFailure(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.status >= 500;
  if (error instanceof HttpTimeoutError) return error.phase !== 'total';
  return error instanceof NetworkError;
}

/**
 * Parses Retry-After (delay-seconds or an HTTP-date) into milliseconds from `now` (a wall-clock
 * time in ms), or undefined when absent or unreadable.
 */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

// Many requests with a cap on how many run at once, each ending in a result rather than a throw
// (the seeds' batch_get and fetch_multiple_urls, with structured results).
import { map } from '../core/map.ts';
import { retryAttempts } from '../core/retry.ts';
import { Semaphore } from '../core/semaphore.ts';
import { checkInteger } from '../core/validate.ts';
import { HttpStatusError } from './errors.ts';
import type { HttpResponse } from './response.ts';
import type { RequestOptions, Session } from './session.ts';

/** A URL, or a URL with its request options. */
export type BatchRequest = string | URL | (RequestOptions & { url: string | URL });

/** Options of `batch` and `batchStream`. */
export interface BatchOptions {
  /** Requests in flight at once. @default 50 */
  concurrency?: number | undefined;
  /** Requests in flight to one origin at once, within this batch. @default no cap beyond `concurrency` */
  perHost?: number | undefined;
  /** Aborts the requests in flight and ends the batch with `signal.reason`. */
  signal?: AbortSignal | undefined;
}

/** How one request of a batch ended. */
export interface BatchResult {
  /** The request's position in the input. */
  index: number;
  url: string;
  /** A response with a status below 400 and no error. */
  ok: boolean;
  status: number | undefined;
  response: HttpResponse | undefined;
  error: Error | undefined;
  attempts: number;
  /** Milliseconds from this request's start to its end. */
  ms: number;
}

/**
 * Runs the requests with at most `concurrency` in flight; resolves with one result per request,
 * in input order. A failed request is a result with `error`, never a rejection.
 *
 * @example
 * const results = await batch(http, urls, { concurrency: 20, perHost: 5 });
 * console.log(results.filter((r) => r.ok).length, 'ok');
 */
export async function batch(session: Session, requests: Iterable<BatchRequest> | AsyncIterable<BatchRequest>, options: BatchOptions = {}): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for await (const result of batchStream(session, requests, options)) results[result.index] = result;
  return results;
}

/** Like `batch`, but yields each result as it completes (completion order), with bounded memory. */
export function batchStream(session: Session, requests: Iterable<BatchRequest> | AsyncIterable<BatchRequest>, options: BatchOptions = {}): AsyncIterableIterator<BatchResult> {
  const concurrency = checkInteger('concurrency', options.concurrency ?? 50, 1, true);
  const perHost = options.perHost === undefined ? undefined : checkInteger('perHost', options.perHost, 1);
  const hosts = new Map<string, Semaphore>();
  return map(requests, async (request, { signal, index }) => {
    const { url, ...init } = typeof request === 'string' || request instanceof URL ? { url: request } : request;
    const start = performance.now();
    let held: Semaphore | undefined;
    try {
      if (perHost !== undefined) {
        const origin = URL.canParse(String(url)) ? new URL(url).origin : '';
        let semaphore = hosts.get(origin);
        if (!semaphore) hosts.set(origin, (semaphore = new Semaphore(perHost)));
        await semaphore.acquire({ signal });
        held = semaphore;
      }
      const response = await session.request(url, { ...init, signal, throwOnStatus: false });
      return {
        index,
        url: String(url),
        ok: response.status < 400,
        status: response.status,
        response,
        error: response.status < 400 ? undefined : new HttpStatusError(response.status, response.url, response.headers, ''),
        attempts: response.attempts,
        ms: performance.now() - start,
      };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      return {
        index,
        url: String(url),
        ok: false,
        status: undefined,
        response: undefined,
        error: error instanceof Error ? error : new Error(String(error)),
        attempts: retryAttempts(error) ?? 1,
        ms: performance.now() - start,
      };
    } finally {
      held?.release();
    }
  }, { concurrency, signal: options.signal });
}

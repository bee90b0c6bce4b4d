// The HTTP client: the seeds' ClientSession, on undici's Agent (keep-alive pools per origin).
//
// A request is layered, outermost first:
//   total deadline → retry (backoff, Retry-After, budget, idempotent methods only)
//     → redirect hops → per hop: circuit breaker (per host) → concurrency caps (session, host)
//       → rate limit (host) → one undici request, body read and decoded inside the attempt.
// The layers are plain code in two async functions (#attempt, #send) rather than wrappers: a
// request waiting on the network holds two suspended frames, not one per layer, and allocates
// no closures or option objects for the layers it passes through unharmed (retries only start
// after a failure).
// Reading the body inside the attempt is what lets a body that breaks mid-way (a reset, a short
// body, a stall) be retried like any other transient failure. `stream: true` hands the body over
// instead, and then only the part up to the headers is retried.
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import { exponentialBackoff, type Backoff } from '../core/backoff.ts';
import { breakerCall, CircuitBreaker, type CircuitBreakerOptions } from '../core/circuit-breaker.ts';
import { type Clock, getClock } from '../core/clock.ts';
import { ClosedError, InvalidArgumentError } from '../core/errors.ts';
import { RateLimiter } from '../core/rate-limiter.ts';
import { retry, retryAttempts } from '../core/retry.ts';
import { RetryBudget, type RetryBudgetOptions } from '../core/retry-budget.ts';
import { type Permit, Semaphore } from '../core/semaphore.ts';
import { LinkedController } from '../core/signals.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import { IDEMPOTENT_METHODS, isHostFailure, isTransient, RETRY_STATUSES, retryAfterMs, toHttpError } from './classify.ts';
import { BodyTooLargeError, HttpStatusError, HttpTimeoutError, TooManyRedirectsError } from './errors.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { HostMetrics, type HostMetricsSnapshot, publishHost } from './host-metrics.ts';
import { ShardedAgent } from './sharded-agent.ts';
import { type Headers, HttpResponse } from './response.ts';

/** Per-phase deadlines of a request, in ms. */
export interface Timeouts {
  /** Establishing the TCP (and TLS) connection. @default 10_000 */
  connect?: number | undefined;
  /** From sending the request to the response headers. @default 30_000 */
  headers?: number | undefined;
  /** The longest gap between two body chunks. @default 30_000 */
  body?: number | undefined;
  /** The whole request, retries and redirects included. @default undefined (none) */
  total?: number | undefined;
}

/** When and how a `Session` retries a request. */
export interface RetryPolicy {
  /** Retries after the first attempt. @default 2 */
  retries?: number | undefined;
  /** @default exponentialBackoff({ base: 200, max: 10_000, jitter: 'full' }) */
  backoff?: Backoff | undefined;
  /** Statuses worth another try. @default [408, 429, 500, 502, 503, 504] */
  statuses?: readonly number[] | undefined;
  /** Methods retried without being asked (others only with `retry: true` per request). @default RFC 9110's idempotent methods */
  methods?: readonly string[] | undefined;
  /** The longest Retry-After honoured; a server asking for more gets no retry. @default 30_000 */
  retryAfterMax?: number | undefined;
  /** Caps retries at a share of the traffic (per session). `false` for none. @default { ratio: 0.2, minPerSecond: 10 } */
  budget?: RetryBudgetOptions | false | undefined;
}

/** Concurrency and rate limits a `Session` applies per host. */
export interface HostLimits {
  /** Requests in flight to one origin. @default Infinity */
  concurrency?: number | undefined;
  /** Requests started per interval to one origin (exact, sliding window). */
  rate?: { limit: number; interval: number } | undefined;
}

/** Options of `Session`: timeouts, retries, redirects, body caps and limits per host. */
export interface SessionOptions {
  /** Relative request URLs resolve against it. */
  baseUrl?: string | URL | undefined;
  /** Sent with every request (a request's own headers win). */
  headers?: Record<string, string> | undefined;
  /** @default 'spate/0.1' */
  userAgent?: string | undefined;
  /** Keep-alive connections per origin. @default 128 */
  connections?: number | undefined;
  /** Requests in flight across all origins. @default Infinity */
  maxConcurrency?: number | undefined;
  timeouts?: Timeouts | undefined;
  /** `false` turns retries off. */
  retry?: RetryPolicy | false | undefined;
  /** A circuit breaker per origin; `false` for none. @default { failureRateThreshold: 0.5, minimumRequests: 20, cooldownMs: 10_000 } */
  breaker?: CircuitBreakerOptions | false | undefined;
  perHost?: HostLimits | undefined;
  /** @default 10 */
  maxRedirects?: number | undefined;
  /** Bodies larger than this (after decoding) fail with `BodyTooLargeError`. @default 64 MiB */
  maxBodyBytes?: number | undefined;
  /** Ask for and decode gzip, deflate and br. @default true */
  decompress?: boolean | undefined;
  /** Throw `HttpStatusError` for statuses ≥ 400 (after retries). @default true */
  throwOnStatus?: boolean | undefined;
  /** An undici dispatcher to use instead of the session's own Agent (not closed by the session). */
  dispatcher?: Dispatcher | undefined;
  clock?: Clock | undefined;
}

/** Options of one request of a `Session` (they override the session's own). */
export interface RequestOptions {
  /** @default 'GET' */
  method?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Added to the URL's query string. */
  query?: Record<string, string | number | boolean> | undefined;
  /** A request body. A stream cannot be replayed, so a request with one is never retried. */
  body?: string | Uint8Array | Readable | undefined;
  /** Sent as the body with `content-type: application/json`. */
  json?: unknown;
  signal?: AbortSignal | undefined;
  /** A deadline for the whole request (overrides the session's `timeouts.total`). */
  timeout?: number | undefined;
  /** Overrides the session's `throwOnStatus`. */
  throwOnStatus?: boolean | undefined;
  /** Hand the body over as a stream instead of buffering it. */
  stream?: boolean | undefined;
  /** `true` retries even a non-idempotent method; `false` never retries this request. */
  retry?: boolean | undefined;
  maxBodyBytes?: number | undefined;
  maxRedirects?: number | undefined;
}

interface HostState {
  metrics: HostMetrics;
  breaker: CircuitBreaker | undefined;
  semaphore: Semaphore | undefined;
  limiter: RateLimiter | undefined;
}

interface HopResult {
  status: number;
  headers: Headers;
  buffer: Buffer | undefined;
  stream: Readable | undefined;
  /** When the hop was done (its body read, or its headers in for a stream): one clock read for the host's latency and the response's timing. */
  doneAt: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const SHARD_SIZE = 256;
const decoders: Record<string, (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  br: promisify(zlib.brotliDecompress) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>,
  deflate: async (buf, opts) => {
    // "deflate" is meant to be zlib-wrapped, but some servers send it raw.
    try {
      return await promisify(zlib.inflate)(buf, opts);
    } catch {
      return promisify(zlib.inflateRaw)(buf, opts);
    }
  },
};
const statusErrorResponses = new WeakMap<HttpStatusError, HttpResponse>();
/** The options of a call that passes none (read, never written: one object for every such call). */
const NO_OPTIONS: RequestOptions = Object.freeze({});
/** The signal of a request nothing can abort. */
const NEVER = new AbortController().signal;

/**
 * An HTTP client with keep-alive pools, per-phase timeouts, retries with backoff and a retry
 * budget, a circuit breaker, concurrency caps and a rate limit per host, and metrics per host.
 *
 * @example
 * await using http = new Session({ perHost: { concurrency: 10 } });
 * const users = await (await http.get('http://127.0.0.1:8080/users')).json();
 */
export class Session {
  readonly #agent: Dispatcher;
  readonly #ownsAgent: boolean;
  readonly #baseUrl: URL | undefined;
  readonly #headers: Record<string, string>;
  /** What a request without headers or json of its own sends (shared, never mutated). */
  readonly #plainHeaders: Readonly<Record<string, string>>;
  readonly #timeouts: { connect: number; headers: number; body: number; total: number | undefined };
  readonly #retry: { retries: number; backoff: Backoff; statuses: readonly number[]; methods: readonly string[]; retryAfterMax: number } | undefined;
  readonly #budget: RetryBudget | undefined;
  readonly #breaker: CircuitBreakerOptions | undefined;
  readonly #perHost: HostLimits;
  readonly #global: Semaphore | undefined;
  readonly #hosts = new Map<string, HostState>();
  #lastOrigin: string | undefined;
  #lastHost: HostState | undefined;
  readonly #maxRedirects: number;
  readonly #maxBodyBytes: number;
  readonly #decompress: boolean;
  readonly #throwOnStatus: boolean;
  readonly #clock: Clock;
  #closed = false;

  constructor(options: SessionOptions = {}) {
    this.#clock = options.clock ?? getClock();
    const t = options.timeouts ?? {};
    this.#timeouts = {
      connect: checkNonNegative('timeouts.connect', t.connect ?? 10_000),
      headers: checkNonNegative('timeouts.headers', t.headers ?? 30_000),
      body: checkNonNegative('timeouts.body', t.body ?? 30_000),
      total: t.total === undefined ? undefined : checkNonNegative('timeouts.total', t.total),
    };
    const connections = checkInteger('connections', options.connections ?? 128, 1);
    this.#ownsAgent = options.dispatcher === undefined;
    const poolOptions = { connections, connect: { timeout: this.#timeouts.connect }, headersTimeout: this.#timeouts.headers, bodyTimeout: this.#timeouts.body };
    // Sharding pays for itself only past a few hundred connections per origin (see sharded-agent.ts).
    this.#agent = options.dispatcher ?? (connections > SHARD_SIZE ? new ShardedAgent({ ...poolOptions, shardSize: SHARD_SIZE }) : new Agent(poolOptions));
    this.#baseUrl = options.baseUrl === undefined ? undefined : new URL(options.baseUrl);
    this.#headers = {
      'user-agent': options.userAgent ?? 'spate/0.1',
      ...lowerKeys(options.headers ?? {}),
    };
    if (options.retry !== false) {
      const r = options.retry ?? {};
      this.#retry = {
        retries: checkInteger('retry.retries', r.retries ?? 2, 0),
        backoff: r.backoff ?? exponentialBackoff({ base: 200, max: 10_000, jitter: 'full' }),
        statuses: r.statuses ?? RETRY_STATUSES,
        methods: (r.methods ?? IDEMPOTENT_METHODS).map((m) => m.toUpperCase()),
        retryAfterMax: checkNonNegative('retry.retryAfterMax', r.retryAfterMax ?? 30_000, true),
      };
      if (r.budget !== false) this.#budget = new RetryBudget({ minPerSecond: 10, ...r.budget, clock: this.#clock });
    }
    this.#breaker = options.breaker === false ? undefined : { failureRateThreshold: 0.5, minimumRequests: 20, cooldownMs: 10_000, ...options.breaker };
    this.#perHost = options.perHost ?? {};
    if (this.#perHost.concurrency !== undefined) checkInteger('perHost.concurrency', this.#perHost.concurrency, 1, true);
    const max = checkInteger('maxConcurrency', options.maxConcurrency ?? Infinity, 1, true);
    this.#global = max === Infinity ? undefined : new Semaphore(max);
    this.#maxRedirects = checkInteger('maxRedirects', options.maxRedirects ?? 10, 0);
    this.#maxBodyBytes = checkInteger('maxBodyBytes', options.maxBodyBytes ?? 64 * 1024 * 1024, 0);
    this.#decompress = options.decompress ?? true;
    this.#throwOnStatus = options.throwOnStatus ?? true;
    const plain = { ...this.#headers };
    if (this.#decompress && plain['accept-encoding'] === undefined) plain['accept-encoding'] = 'gzip, deflate, br';
    this.#plainHeaders = Object.freeze(plain);
  }

  /** GET `url`. */
  get(url: string | URL, options: Omit<RequestOptions, 'method'> = NO_OPTIONS): Promise<HttpResponse> {
    return this.#request(url, 'GET', options);
  }

  /** POST `url`. Not retried unless `retry: true`. */
  post(url: string | URL, options: Omit<RequestOptions, 'method'> = NO_OPTIONS): Promise<HttpResponse> {
    return this.#request(url, 'POST', options);
  }

  /** GET `url` and parse the body as JSON. */
  async getJson<T = unknown>(url: string | URL, options: Omit<RequestOptions, 'method' | 'stream'> = {}): Promise<T> {
    return (await this.get(url, options)).json<T>();
  }

  /** Sends a request; resolves with the final response (after redirects and retries). */
  request(input: string | URL, options: RequestOptions = NO_OPTIONS): Promise<HttpResponse> {
    return this.#request(input, options.method ?? 'GET', options);
  }

  #request(input: string | URL, rawMethod: string, options: RequestOptions): Promise<HttpResponse> {
    let url: URL;
    let headers: Readonly<Record<string, string>>;
    let body: RequestOptions['body'];
    try {
      if (this.#closed) throw new ClosedError('the session is closed');
      checkSignal(options.signal);
      url = this.#resolve(input, options.query);
      headers = options.headers === undefined && options.json === undefined ? this.#plainHeaders : this.#prepare(options);
      body = options.json === undefined ? options.body : JSON.stringify(options.json);
    } catch (error) {
      return Promise.reject(error);
    }
    const method = rawMethod.toUpperCase();
    const started = this.#clock.now();
    const total = options.timeout ?? this.#timeouts.total;
    // Nothing can abort this request: no controller, no listener, no extra async frame.
    this.#budget?.recordRequest();
    if (options.signal === undefined && total === undefined) return this.#attempt(url, method, headers, body, options, NEVER, started, 1);
    return this.#withDeadline(url, method, headers, body, options, started, total);
  }

  async #withDeadline(url: URL, method: string, headers: Readonly<Record<string, string>>, body: RequestOptions['body'], options: RequestOptions, started: number, total: number | undefined): Promise<HttpResponse> {
    const controller = new LinkedController(options.signal);
    const timer = total === undefined ? undefined : this.#clock.setTimer(total, () => controller.abort(new HttpTimeoutError('total', url.href, total)));
    let handedOver = false;
    const cleanup = () => {
      timer?.clear();
      controller.unlink();
    };
    try {
      const response = await this.#attempt(url, method, headers, body, options, controller.signal, started, 1);
      if (options.stream) {
        // The deadline and the caller's signal keep covering the body until it ends.
        const stream = response.body;
        handedOver = true;
        const onAbort = () => stream.destroy(controller.signal.reason as Error);
        controller.signal.addEventListener('abort', onAbort, { once: true });
        stream.once('close', () => {
          controller.signal.removeEventListener('abort', onAbort);
          cleanup();
        });
        return new HttpResponse({ status: response.status, headers: response.headers, url: response.url, redirects: response.redirects, timing: response.timing, stream });
      }
      return response;
    } finally {
      if (!handedOver) cleanup();
    }
  }

  /** Metrics per host (origin), as plain data. */
  metrics(): HostMetricsSnapshot[] {
    return [...this.#hosts.values()].map((h) => h.metrics.snapshot());
  }

  /**
   * Publishes the per-host metrics into `registry` when it is read (a collector: no cost per
   * request): `spate_http_requests_total`, `_retries_total`, `_responses_total{status}`,
   * `_errors_total{kind}`, `_bytes_total`, `_in_flight`, `_request_duration_seconds` and
   * `_breaker_state` (0 closed, 1 half-open, 2 open), each labelled `host` (the origin).
   * Returns a function that stops publishing.
   */
  publishMetrics(registry: MetricsRegistry): () => void {
    return registry.collect((r) => {
      for (const [origin, state] of this.#hosts) publishHost(r, origin, state.metrics, state.breaker?.state);
    });
  }

  /** The circuit breaker of an origin (`http://host:port`), if breakers are on and it was used. */
  breaker(origin: string): CircuitBreaker | undefined {
    return this.#hosts.get(origin)?.breaker;
  }

  /** Waits for in-flight requests to end, then closes every connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ownsAgent) await this.#agent.close();
  }

  /** Closes every connection now; in-flight requests fail. Safe to call twice. */
  async destroy(reason?: Error): Promise<void> {
    this.#closed = true;
    if (this.#ownsAgent) await this.#agent.destroy(reason ?? new ClosedError('the session was destroyed'));
  }

  /** Same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #resolve(input: string | URL, query: RequestOptions['query']): URL {
    let url: URL;
    try {
      url = new URL(input, this.#baseUrl);
    } catch (error) {
      throw new InvalidArgumentError(`Expected a valid URL, got ${JSON.stringify(String(input))}`, { cause: error });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new InvalidArgumentError(`Expected an http: or https: URL, got ${JSON.stringify(url.href)}`);
    }
    if (query) for (const [k, v] of Object.entries(query)) url.searchParams.append(k, String(v));
    return url;
  }

  /** The headers of a request that has headers or json of its own. */
  #prepare(options: RequestOptions): Record<string, string> {
    const headers = { ...this.#headers, ...lowerKeys(options.headers ?? {}) };
    if (this.#decompress && headers['accept-encoding'] === undefined) headers['accept-encoding'] = 'gzip, deflate, br';
    if (options.json !== undefined) headers['content-type'] ??= 'application/json';
    return headers;
  }

  #retryable(method: string, options: RequestOptions): boolean {
    if (!this.#retry || options.retry === false || options.body instanceof Readable) return false;
    return options.retry === true || this.#retry.methods.includes(method);
  }

  /**
   * One attempt: the hops up to the final response, whose status ≥ 400 is thrown. Attempt 1 is
   * the request's own frame: it hands a failure to #recover (retries, or the response behind a
   * status error when throwOnStatus is off), so a request answered at once builds no retry
   * options, closures or frame. Later attempts are retry()'s and just throw.
   */
  async #attempt(url: URL, method: string, headers: Readonly<Record<string, string>>, body: RequestOptions['body'], options: RequestOptions, signal: AbortSignal, started: number, attempt: number): Promise<HttpResponse> {
    try {
      // retry() checks the signal before its first attempt: so does a request it may retry.
      if (attempt === 1 && signal.aborted && this.#retryable(method, options)) throw signal.reason;
      const maxRedirects = options.maxRedirects ?? this.#maxRedirects;
      const maxBody = options.maxBodyBytes ?? this.#maxBodyBytes;
      const stream = options.stream === true;
      let chain: string[] | undefined;
      let current = url;
      let currentMethod = method;
      let currentBody = body;
      let currentHeaders = headers;
      let hop: HopResult;
      for (;;) {
        hop = await this.#send(current, currentMethod, currentHeaders, currentBody, signal, stream, maxBody);
        const location = REDIRECTS.has(hop.status) ? hop.headers.location : undefined;
        if (typeof location !== 'string' || maxRedirects === 0) break;
        hop.stream?.destroy();
        chain ??= [];
        chain.push(current.href);
        if (chain.length > maxRedirects) throw new TooManyRedirectsError([...chain, new URL(location, current).href], maxRedirects);
        const next = new URL(location, current);
        if (next.origin !== current.origin) {
          // Credentials are for the origin they were given to.
          const { authorization: _a, cookie: _c, ...rest } = currentHeaders;
          currentHeaders = rest;
        }
        if (hop.status === 303 || ((hop.status === 301 || hop.status === 302) && currentMethod === 'POST')) {
          currentMethod = currentMethod === 'HEAD' ? 'HEAD' : 'GET';
          currentBody = undefined;
          const { 'content-type': _t, 'content-length': _l, ...rest } = currentHeaders;
          currentHeaders = rest;
        }
        current = next;
      }
      const elapsed = hop.doneAt - started;
      const response = new HttpResponse({
        status: hop.status,
        headers: hop.headers,
        url: current.href,
        redirects: chain ?? [],
        timing: { headersMs: elapsed, totalMs: hop.buffer ? elapsed : undefined },
        buffer: hop.buffer,
        stream: hop.stream,
      });
      response.attempts = attempt;
      if (response.status >= 400) {
        const error = new HttpStatusError(response.status, response.url, response.headers, await snippet(response));
        statusErrorResponses.set(error, response);
        const transient = this.#retry !== undefined && isTransient(error, this.#retry.statuses);
        if (transient || (options.throwOnStatus ?? this.#throwOnStatus)) throw error;
      }
      return response;
    } catch (error) {
      if (attempt !== 1) throw error;
      return this.#recover(error, url, method, headers, body, options, signal, started);
    }
  }

  /** After a failed first attempt: the retries (retry()'s attempt 1 rethrows the failure), then the response behind a status error when throwOnStatus is off. */
  async #recover(failure: unknown, url: URL, method: string, headers: Readonly<Record<string, string>>, body: RequestOptions['body'], options: RequestOptions, signal: AbortSignal, started: number): Promise<HttpResponse> {
    const policy = this.#retry;
    try {
      if (!policy || !this.#retryable(method, options)) throw failure;
      return await retry(({ signal, attempt }) => (attempt === 1 ? Promise.reject(failure) : this.#attempt(url, method, headers, body, options, signal, started, attempt)), {
        retries: policy.retries,
        backoff: policy.backoff,
        signal,
        clock: this.#clock,
        maxDelay: policy.retryAfterMax,
        retryOn: (error) => {
          if (!isTransient(error, policy.statuses)) return false;
          if (this.#budget && !this.#budget.tryRetry()) return false;
          return error instanceof HttpStatusError ? (retryAfterMs(error.headers['retry-after']) ?? true) : true;
        },
        onRetry: () => {
          this.#host(url.origin).metrics.retries++;
        },
      });
    } catch (error) {
      if (error instanceof HttpStatusError && !(options.throwOnStatus ?? this.#throwOnStatus)) {
        const response = statusErrorResponses.get(error);
        if (response) {
          response.attempts = retryAttempts(error) ?? 1;
          return response;
        }
      }
      throw error;
    }
  }

  #host(origin: string): HostState {
    // Most requests go where the previous one went: a string compare, no hash of a fresh string.
    if (origin === this.#lastOrigin) return this.#lastHost!;
    let state = this.#hosts.get(origin);
    if (state === undefined) {
      const { concurrency, rate } = this.#perHost;
      state = {
        metrics: new HostMetrics(origin),
        breaker: this.#breaker ? new CircuitBreaker({ clock: this.#clock, isFailure: isHostFailure, ...this.#breaker }) : undefined,
        semaphore: concurrency === undefined || concurrency === Infinity ? undefined : new Semaphore(concurrency),
        limiter: rate ? new RateLimiter({ limit: rate.limit, interval: rate.interval, clock: this.#clock }) : undefined,
      };
      this.#hosts.set(origin, state);
    }
    this.#lastOrigin = origin;
    this.#lastHost = state;
    return state;
  }

  /**
   * One hop: through the host's circuit breaker (a 5xx counts as a failure there but is still
   * answered), the concurrency caps and the rate limit, then one undici request.
   */
  async #send(url: URL, method: string, headers: Readonly<Record<string, string>>, body: RequestOptions['body'], signal: AbortSignal, stream: boolean, maxBody: number): Promise<HopResult> {
    const origin = url.origin;
    const host = this.#host(origin);
    const breaker = host.breaker;
    let ticket = 0;
    if (breaker) {
      if (signal.aborted) throw signal.reason;
      ticket = breakerCall.admit(breaker);
    }
    /** The breaker's verdict on this hop; undefined records nothing (an abort). */
    let failed: boolean | undefined;
    let global: Permit | undefined;
    let local: Permit | undefined;
    const metrics = host.metrics;
    let t0 = 0;
    let counted = false;
    let handedOver = false;
    let result: HopResult;
    let doneAt = 0;
    try {
      if (this.#global) global = await this.#global.acquire({ signal });
      if (host.semaphore) local = await host.semaphore.acquire({ signal });
      if (host.limiter) await host.limiter.acquire({ signal });
      metrics.requests++;
      metrics.inFlight++;
      counted = true;
      t0 = this.#clock.now();
      // The dispatcher's own request(), not undici's top-level one: that one copies the options twice.
      const res = await this.#agent.request({
        origin,
        path: url.search ? url.pathname + url.search : url.pathname,
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body ?? null,
        signal: signal === NEVER ? null : signal,
      });
      const status = res.statusCode;
      metrics.status(status);
      const resHeaders = res.headers as Headers;
      const contentEncoding = resHeaders['content-encoding'];
      const encoding = this.#decompress && contentEncoding !== undefined ? String(contentEncoding).trim().toLowerCase() : '';
      if (method === 'HEAD' || status === 204 || status === 304 || REDIRECTS.has(status)) {
        await res.body.dump();
        result = { status, headers: resHeaders, buffer: Buffer.alloc(0), stream: undefined, doneAt: 0 };
      } else if (stream && status < 400) {
        const counter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            metrics.bytes += chunk.length;
            callback(null, chunk);
          },
        });
        const decoder = streamDecoder(encoding);
        const readable: Readable = decoder ?? counter;
        (decoder ? pipeline(res.body, counter, decoder) : pipeline(res.body, counter)).catch(() => {});
        readable.once('close', () => {
          metrics.inFlight--;
          metrics.latency.record(this.#clock.now() - t0);
          local?.release();
          global?.release();
        });
        handedOver = true;
        result = { status, headers: resHeaders, buffer: undefined, stream: readable, doneAt: 0 };
      } else {
        // A declared length within the cap takes undici's own buffering (no stream events); an
        // unknown one is read chunk by chunk so the cap holds as the bytes arrive.
        const declared = Number(resHeaders['content-length']);
        let raw: Buffer;
        if (declared >= 0 && declared <= maxBody) {
          raw = Buffer.from(await res.body.arrayBuffer());
          metrics.bytes += raw.length;
        } else {
          raw = await readCapped(res.body, maxBody, url.href, metrics);
        }
        const decode = decoders[encoding];
        let buffer = raw;
        if (decode && raw.length > 0) {
          try {
            buffer = await decode(raw, { maxOutputLength: Math.max(1, maxBody) });
          } catch (error) {
            if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLargeError(url.href, maxBody);
            throw error;
          }
        }
        result = { status, headers: resHeaders, buffer, stream: undefined, doneAt: 0 };
      }
      // A 5xx answered after the caller's abort counts as nothing, like any outcome of an aborted call.
      failed = status < 500 ? false : signal.aborted ? undefined : true;
      result.doneAt = doneAt = this.#clock.now();
      return result;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const mapped = toHttpError(error, url.href, this.#timeouts);
      metrics.error(errorCode(mapped));
      // The breaker's own classifier: isHostFailure unless the caller's breaker options gave another.
      if (breaker) failed = breakerCall.isFailure(breaker, mapped);
      throw mapped;
    } finally {
      if (!handedOver) {
        if (counted) {
          metrics.inFlight--;
          metrics.latency.record((doneAt || this.#clock.now()) - t0);
        }
        local?.release();
        global?.release();
      }
      if (breaker) breakerCall.settle(breaker, ticket, failed);
    }
  }
}

/** Reads a whole body, failing as soon as it passes `max` bytes (events, not an async iterator: cheaper per chunk). */
function readCapped(body: Readable, max: number, url: string, metrics: HostMetrics): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      metrics.bytes += chunk.length;
      if (size > max) {
        body.destroy();
        reject(new BodyTooLargeError(url, max));
        return;
      }
      chunks.push(chunk);
    });
    body.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    body.once('error', reject);
  });
}

function streamDecoder(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.createGunzip();
  if (encoding === 'deflate') return zlib.createInflate();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return undefined;
}

async function snippet(response: HttpResponse): Promise<string> {
  try {
    return (await response.text()).slice(0, 4096);
  } catch {
    return '';
  }
}

function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const reason = (error as { reason?: unknown }).reason;
    if (typeof reason === 'string') return reason;
    const code = (error as { code?: unknown }).code;
    if (error instanceof HttpTimeoutError) return `timeout:${error.phase}`;
    if (typeof code === 'string') return code;
    return error.name;
  }
  return 'unknown';
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

// The seeds' AsyncAPIService (aiohttp) on Fastify: /health, /slow, POST /echo, /data/:id, plus
// /metrics, structured logs, background tasks, and a graceful close.
//
// Shutdown, in order: fastify stops accepting and closes idle keep-alive connections; requests
// arriving on busy keep-alive connections get 503 + `Connection: close`; requests in flight run
// to the end, and their connections close right after (see `close()`); after `graceMs` what is
// left is aborted (its waits end with ServerClosingError) and its connections are cut; then the
// background tasks are stopped (bounded by `graceMs` again).
//
// Metrics: each route gets its own onResponse hook with its route label fixed at registration,
// so the hot path does one map lookup and one histogram record. The request counter is derived
// from the histogram's count at scrape time (a collector) instead of being counted twice. They
// live in spate/observe's MetricsRegistry, the one registry a dashboard reads.
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type onResponseHookHandler } from 'fastify';
import type { LoggerOptions } from 'pino';
import { type Clock, getClock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { onAbort } from '../core/signals.ts';
import { sleep } from '../core/sleep.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import type { Histogram } from '../observe/histogram.ts';
import { LoopLagMonitor } from '../observe/loop-lag.ts';
import { collectProcessMetrics } from '../observe/process-metrics.ts';
import { type Labels, MetricsRegistry } from '../observe/registry.ts';
import { checkPort, DEFAULT_BACKLOG } from '../tcp/listener.ts';
import { type BackgroundTask, BackgroundTasks } from './background.ts';
import { ClientClosedError, ServerClosingError } from './errors.ts';

/** Simulated I/O time per endpoint, in milliseconds. */
export interface ApiDelays {
  /** `POST /echo`. @default 0 */
  echo?: number | undefined;
  /** `GET /data/:id`. @default 0 */
  data?: number | undefined;
  /** `GET /slow` without `?delay=`. @default 2000 */
  slowDefault?: number | undefined;
}

/**
 * The seeds' simulated I/O: `asyncio.sleep(0.1)` in /echo, `0.5` in /data, `2` in /slow. Opt-in
 * (`--seed-delays`): with them on, a benchmark of /echo or /data measures the sleep, not the server.
 */
export const SEED_DELAYS: Readonly<Required<ApiDelays>> = Object.freeze({ echo: 100, data: 500, slowDefault: 2000 });

/** Options of {@link buildApi}. */
export interface ApiOptions {
  /** pino options (fastify's logger), `true` for pino's defaults, or `false` for no logs. @default false */
  logger?: LoggerOptions | boolean | undefined;
  /** The log level when logging is on. @default 'info' */
  logLevel?: string | undefined;
  /** Largest request body accepted, in bytes; a larger one gets 413. @default 1048576 */
  bodyLimit?: number | undefined;
  /** Simulated I/O per endpoint; see {@link SEED_DELAYS}. @default { echo: 0, data: 0, slowDefault: 2000 } */
  delays?: ApiDelays | undefined;
  /** Longest `/slow?delay=` accepted, in ms; more gets 400. @default 30000 */
  maxSlowMs?: number | undefined;
  /** Tasks run from when the app is ready until it closes (besides the loop-lag sampler). */
  background?: readonly BackgroundTask[] | undefined;
  /** How often the built-in background task samples event-loop lag into /metrics, in ms; 0 turns it off. @default 10000 */
  loopLagIntervalMs?: number | undefined;
  /** How long background tasks get to return once asked to stop (and, in `startApiServer`, in-flight requests to finish). @default 10000 */
  graceMs?: number | undefined;
  /** Clock for the simulated delays, uptime, and the grace periods. @default getClock() */
  clock?: Clock | undefined;
  /**
   * Where the request metrics go (served at /metrics). A registry you pass is yours: the server
   * adds no process metrics to it and does not clear it on close.
   * @default a registry of the server's own, with the process metrics
   */
  registry?: MetricsRegistry | undefined;
}

/** Options of {@link startApiServer}. */
export interface ApiServerOptions extends ApiOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number | undefined;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string | undefined;
  /** Aborting it closes the server (as `close()`). */
  signal?: AbortSignal | undefined;
}

/** A running API server. */
export interface ApiServer extends AsyncDisposable {
  /** `http://host:port`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The Fastify instance (listening). */
  readonly app: FastifyInstance;
  /** The server's background tasks. */
  readonly background: BackgroundTasks;
  /** Stops accepting, lets requests in flight finish within `graceMs` (then cuts them), stops the background tasks. Idempotent; never rejects for requests cut short. */
  close(): Promise<void>;
  /** Stops accepting and cuts every request and connection now; background tasks are aborted and not waited for. Idempotent; also cuts a `close()` short. */
  destroy(): Promise<void>;
}

interface Api {
  readonly app: FastifyInstance;
  readonly background: BackgroundTasks;
  /** Aborted when the grace period ends, or when the app closes. */
  readonly hard: AbortController;
  readonly graceMs: number;
  readonly clock: Clock;
  /** How long onClose waits for the background tasks (`destroy()` sets it to 0). */
  backgroundGraceMs: number;
}

const MIB = 1024 * 1024;
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const UNMATCHED_ROUTE = '<unmatched>';

/** The route schemas, exported so the benchmark's bare-Fastify floor serialises exactly as spate does. */
export const healthSchema = {
  response: {
    200: {
      type: 'object',
      properties: { status: { type: 'string' }, uptime: { type: 'number' }, timestamp: { type: 'number' }, pid: { type: 'integer' } },
    },
  },
} as const;

export const echoSchema = {
  body: { type: 'object' },
  response: {
    200: {
      type: 'object',
      properties: { received: {}, processed: { type: 'boolean' }, timestamp: { type: 'number' } },
    },
  },
} as const;

const dataSchema = {
  params: { type: 'object', properties: { id: { type: 'integer', minimum: 1, maximum: 1e9 } }, required: ['id'] },
  response: {
    200: {
      type: 'object',
      properties: { user_id: { type: 'integer' }, name: { type: 'string' }, email: { type: 'string' }, timestamp: { type: 'number' } },
    },
  },
} as const;

function slowSchema(defaultSeconds: number, maxSeconds: number) {
  return {
    querystring: { type: 'object', properties: { delay: { type: 'number', minimum: 0, maximum: maxSeconds, default: defaultSeconds } } },
    response: {
      200: { type: 'object', properties: { message: { type: 'string' }, delay: { type: 'number' }, timestamp: { type: 'number' } } },
    },
  } as const;
}

/** The wall-clock time in seconds since the epoch, as the seeds' `time.time()`. */
function timestamp(): number {
  return Date.now() / 1000;
}

function createApi(options: ApiOptions): Api {
  const bodyLimit = checkInteger('bodyLimit', options.bodyLimit ?? MIB, 1);
  const maxSlowMs = checkNonNegative('maxSlowMs', options.maxSlowMs ?? 30_000);
  const graceMs = checkNonNegative('graceMs', options.graceMs ?? 10_000);
  const loopLagIntervalMs = checkNonNegative('loopLagIntervalMs', options.loopLagIntervalMs ?? 10_000);
  const echoDelay = checkNonNegative('delays.echo', options.delays?.echo ?? 0);
  const dataDelay = checkNonNegative('delays.data', options.delays?.data ?? 0);
  const slowDefault = checkNonNegative('delays.slowDefault', options.delays?.slowDefault ?? SEED_DELAYS.slowDefault);
  if (slowDefault > maxSlowMs) throw new InvalidArgumentError(`Expected \`delays.slowDefault\` to be at most \`maxSlowMs\` (${maxSlowMs}), got ${slowDefault}`);
  const clock = options.clock ?? getClock();
  const started = clock.now();

  const logger = options.logger ?? false;
  const app = Fastify({
    logger: logger === false ? false : { ...(logger === true ? {} : logger), level: options.logLevel ?? (logger === true ? undefined : logger.level) ?? 'info' },
    bodyLimit,
    return503OnClosing: true,
    requestIdHeader: 'x-request-id',
  });
  const hard = new AbortController();
  const background = new BackgroundTasks({ logger: app.log, clock });
  const api: Api = { app, background, hard, graceMs, clock, backgroundGraceMs: graceMs };

  // A registry of the server's own unless given: two servers in one process must not share (or
  // clash on) request metrics.
  const ownsRegistry = options.registry === undefined;
  const registry = options.registry ?? new MetricsRegistry();
  const stopProcessMetrics = ownsRegistry ? collectProcessMetrics(registry) : noop;
  const series = new Map<string, { labels: Labels; histogram: Histogram }>();
  const unlinkCollector = registry.collect((r) => {
    for (const { labels, histogram } of series.values()) r.counter('http_requests_total', labels).set(histogram.count);
    if (series.size > 0) r.describe('http_requests_total', 'HTTP requests answered');
  });
  const lag = (stat: string) => registry.gauge('event_loop_lag_seconds', { stat });

  const observe = (request: FastifyRequest, reply: FastifyReply, route: string, status = reply.statusCode) => {
    const key = `${request.method} ${status} ${route}`;
    let found = series.get(key);
    if (found === undefined) {
      const labels = { method: request.method, route, status };
      const histogram = registry.histogram('http_request_duration_seconds', labels, {
        help: 'HTTP request latency, from the request to the end of the response, in seconds',
        buckets: DURATION_BUCKETS,
      });
      found = { labels, histogram };
      series.set(key, found);
    }
    found.histogram.record(reply.elapsedTime);
  };

  // Every route's methods and path pattern, for 405 + Allow (HTTP's answer to a known path
  // asked with the wrong method, as aiohttp gives).
  const patterns: { method: string; re: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const label = route.url;
    const re = new RegExp(`^${route.url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}/?$`);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) patterns.push({ method, re });
    const hook: onResponseHookHandler = (request, reply, done) => {
      observe(request, reply, label);
      done();
    };
    const existing = route.onResponse;
    route.onResponse = existing === undefined ? [hook] : [...(Array.isArray(existing) ? existing : [existing]), hook];
  });

  app.setNotFoundHandler((request, reply) => {
    reply.raw.once('finish', () => observe(request, reply, UNMATCHED_ROUTE));
    const path = request.url.split('?')[0] ?? '';
    const allow = [...new Set(patterns.filter((p) => p.re.test(path)).map((p) => p.method))];
    if (allow.length > 0) {
      return reply.code(405).header('allow', allow.join(', ')).send(errorBody(405, 'FST_ERR_METHOD_NOT_ALLOWED', `Method ${request.method} not allowed for ${path} (allowed: ${allow.join(', ')})`));
    }
    return reply.code(404).send(errorBody(404, 'FST_ERR_NOT_FOUND', `Route ${request.method}:${request.url} not found`));
  });

  app.setErrorHandler((error, request, reply) => {
    const status = statusOf(error);
    if (status >= 500 && status !== 503) request.log.error({ err: error }, 'request failed');
    const message = status === 500 ? 'Internal Server Error' : (error as Error).message;
    const code = (error as { code?: unknown }).code;
    return reply.code(status).send(errorBody(status, typeof code === 'string' ? code : `HTTP_${status}`, message));
  });

  // The seeds' /echo reads JSON only; text/plain would just fail the schema less clearly (415 says why).
  app.removeContentTypeParser('text/plain');

  /** Waits `ms` unless the client leaves (ClientClosedError) or the grace period ends (ServerClosingError). */
  async function simulateIo(ms: number, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (ms === 0) return;
    const controller = new AbortController();
    const unlinkHard = onAbort(hard.signal, () => controller.abort(new ServerClosingError()));
    // The response's 'close' before we reply means the connection is gone. (Not the request's
    // 'close', nor fastify's request.signal built on it: a request emits 'close' as soon as its
    // body has been read, with the client still waiting.)
    const response = reply.raw;
    const onClose = () => controller.abort(new ClientClosedError());
    if (request.raw.socket.destroyed) onClose();
    else response.once('close', onClose);
    try {
      await sleep(ms, { signal: controller.signal, clock });
    } catch (error) {
      // Nobody reads the reply to a client that left, so no onResponse will count it: count it here.
      if (error instanceof ClientClosedError) observe(request, reply, request.routeOptions.url ?? UNMATCHED_ROUTE, 499);
      throw error;
    } finally {
      unlinkHard();
      response.off('close', onClose);
    }
  }

  const pid = process.pid;
  app.get('/health', { schema: healthSchema }, (_request, reply) => {
    reply.send({ status: 'ok', uptime: (clock.now() - started) / 1000, timestamp: timestamp(), pid });
  });

  app.get<{ Querystring: { delay: number } }>('/slow', { schema: slowSchema(slowDefault / 1000, maxSlowMs / 1000) }, async (request, reply) => {
    const delay = request.query.delay;
    await simulateIo(Math.round(delay * 1000), request, reply);
    return { message: 'Slow response completed', delay, timestamp: timestamp() };
  });

  app.post<{ Body: Record<string, unknown> }>('/echo', { schema: echoSchema }, async (request, reply) => {
    await simulateIo(echoDelay, request, reply);
    return { received: request.body, processed: true, timestamp: timestamp() };
  });

  app.get<{ Params: { id: number } }>('/data/:id', { schema: dataSchema }, async (request, reply) => {
    const id = request.params.id;
    await simulateIo(dataDelay, request, reply);
    return { user_id: id, name: `User ${id}`, email: `user${id}@example.com`, timestamp: timestamp() };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return registry.toPrometheus();
  });

  if (loopLagIntervalMs > 0) {
    background.add('loop-lag', async ({ signal }) => {
      using monitor = new LoopLagMonitor().start();
      for (;;) {
        await sleep(loopLagIntervalMs, { signal, clock });
        const stats = monitor.stats();
        monitor.reset();
        lag('p50').set(stats.p50 / 1000);
        lag('p99').set(stats.p99 / 1000);
        lag('max').set(stats.max / 1000);
        app.log.debug({ loopLagMs: { p50: stats.p50, p99: stats.p99, max: stats.max } }, 'event-loop lag');
      }
    }, { restart: 'on-failure' });
  }
  for (const task of options.background ?? []) background.add(task.name, task.fn, task);

  app.addHook('onReady', (done) => {
    background.start();
    done();
  });
  // onClose runs after the HTTP server has closed, so the requests are done before the tasks stop.
  app.addHook('onClose', async () => {
    hard.abort(new ServerClosingError());
    await background.stop({ graceMs: api.backgroundGraceMs });
    unlinkCollector();
    stopProcessMetrics();
    if (ownsRegistry) registry.clear();
  });

  return api;
}

/** Only 4xx from fastify's own errors (and ours, which say what they mean) pass through; anything else is a 500. */
function statusOf(error: unknown): number {
  if (error instanceof ClientClosedError || error instanceof ServerClosingError) return error.statusCode;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : 500;
}

function errorBody(statusCode: number, code: string, message: string) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? (statusCode === 499 ? 'Client Closed Request' : 'Error'), code, message };
}

/**
 * Builds the API service as a Fastify instance that is not listening yet: call `app.inject()`
 * to exercise it in memory, or `app.listen()` yourself. `app.ready()` starts the background
 * tasks and `app.close()` stops them.
 *
 * @example
 * const app = buildApi();
 * const res = await app.inject({ method: 'POST', url: '/echo', payload: { hello: 'world' } });
 * console.log(res.json()); // { received: { hello: 'world' }, processed: true, timestamp: … }
 * await app.close();
 */
export function buildApi(options: ApiOptions = {}): FastifyInstance {
  return createApi(options).app;
}

/**
 * Starts the API service. Port 0 (the default) picks a free port; see `url`.
 *
 * @example
 * await using server = await startApiServer({ port: 8080, logger: true });
 * console.log(`spate api listening on ${server.url}`);
 */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const port = checkPort(options.port ?? 0);
  const host = options.host ?? '127.0.0.1';
  checkSignal(options.signal);
  const api = createApi(options);
  const { app, background, hard, graceMs, clock } = api;
  try {
    await app.listen({ port, host, backlog: DEFAULT_BACKLOG });
  } catch (error) {
    // listen() readies the app (starting the background tasks) before it binds.
    await app.close();
    throw error;
  }
  const server = app.server;
  const info = server.address();
  if (info === null || typeof info === 'string') throw new Error('API server has no TCP address');
  const shown = info.family === 'IPv6' ? `[${info.address}]` : info.address;
  const url = `http://${shown}:${info.port}`;

  let closing: Promise<void> | undefined;
  let unlinkSignal = noop;
  // Connections, and the responses in flight on them: on close, a connection with no request in
  // flight (idle keep-alive, or headers still incomplete) is closed at once, and the last response
  // pending on a connection says `Connection: close` — the last, so that a request already sent
  // behind it (pipelined) is still answered (with 503) instead of being cut.
  const connections = new Set<Socket>();
  const pending = new Map<Socket, ServerResponse[]>();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let list = pending.get(socket);
    if (list === undefined) pending.set(socket, (list = []));
    list.push(res);
    if (closing !== undefined) closeAfterLast(socket, res);
    res.once('close', () => {
      const rest = pending.get(socket)?.filter((r) => r !== res) ?? [];
      if (rest.length === 0) pending.delete(socket);
      else pending.set(socket, rest);
    });
  });
  function closeAfterLast(socket: Socket, res: ServerResponse): void {
    if (res.headersSent) return;
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
      if (pending.get(socket)?.at(-1) === res) this.shouldKeepAlive = false;
      return writeHead.apply(this, args);
    } as ServerResponse['writeHead'];
  }

  function cut(): void {
    hard.abort(new ServerClosingError());
    server.closeAllConnections();
  }

  function shutdown(ms: number): Promise<void> {
    unlinkSignal();
    // Node reads these when a response finishes: a connection whose request was in flight at
    // close() then closes right after its response instead of idling for keep-alive (which
    // would hold the server open until the grace period ends).
    server.keepAliveTimeout = 1;
    server.keepAliveTimeoutBuffer = 0;
    for (const socket of connections) {
      const list = pending.get(socket);
      if (list === undefined) socket.destroy();
      else for (const res of list) closeAfterLast(socket, res);
    }
    const timer = clock.setTimer(ms, cut);
    server.once('close', () => timer.clear());
    return app.close().finally(() => timer.clear());
  }

  function close(): Promise<void> {
    closing ??= shutdown(graceMs);
    return closing;
  }

  function destroy(): Promise<void> {
    api.backgroundGraceMs = 0;
    closing ??= shutdown(0);
    cut();
    return closing;
  }

  unlinkSignal = onAbort(options.signal, () => void close());
  return {
    url,
    host: info.address,
    port: info.port,
    app,
    background,
    close,
    destroy,
    [Symbol.asyncDispose]: close,
  };
}

function noop(): void {}

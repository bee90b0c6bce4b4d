// The live dashboard: a small HTTP server on 127.0.0.1 with the page, its assets, the frames
// over Server-Sent Events, and the registry's /metrics (so `spate dash <url>` can watch it too).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../core/errors.ts';
import { checkSignal } from '../core/validate.ts';
import { onAbort } from '../core/signals.ts';
import type { MetricsRegistry } from '../observe/registry.ts';
import { collectProcessMetrics } from '../observe/process-metrics.ts';
import type { Frame } from './frames.ts';
import { ASSETS, asset, renderPage } from './page.ts';
import { Recorder } from './recorder.ts';

/** Options of {@link startDashboard}. Give `registry` or `url`. */
export interface DashboardOptions {
  /** The registry of this process to show (its process metrics are added). */
  registry?: MetricsRegistry | undefined;
  /** A Prometheus `/metrics` endpoint of another process to show instead. */
  url?: string | undefined;
  /** Port; 0 picks a free one. @default 0 */
  port?: number | undefined;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string | undefined;
  /** The page's title. @default 'spate' */
  title?: string | undefined;
  /** How often a frame is sent, in ms. @default 1000 */
  intervalMs?: number | undefined;
  /** Aborting it closes the dashboard. */
  signal?: AbortSignal | undefined;
  /** Keep the process alive while the dashboard is open (`spate dash`); a job's dashboard does not. @default false */
  keepAlive?: boolean | undefined;
}

/** A running dashboard. */
export interface Dashboard extends AsyncDisposable {
  /** `http://127.0.0.1:port/`. */
  readonly url: string;
  readonly port: number;
  /** The frames taken so far (for a report at the end). */
  readonly frames: readonly Frame[];
  readonly recorder: Recorder;
  /** Takes a last frame, sends it, ends the event streams and stops the server. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a live dashboard of `registry` (or of another process's `url`).
 *
 * @example
 * const registry = new MetricsRegistry();
 * await using dash = await startDashboard({ registry, port: 0 });
 * console.error(`dashboard: ${dash.url}`);
 * await new Crawler({ seeds, registry }).run();
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  checkSignal(options.signal);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`Expected \`port\` to be an integer from 0 to 65535, got ${String(port)}`);
  const host = options.host ?? '127.0.0.1';
  const title = options.title ?? 'spate';
  const registry = options.registry;
  const recorder = new Recorder({ registry, url: options.url, intervalMs: options.intervalMs });
  const stopProcess = registry !== undefined ? collectProcessMetrics(registry) : () => {};
  const clients = new Set<ServerResponse>();
  const page = renderPage({ title, mode: 'live' });

  const send = (res: ServerResponse, event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  recorder.onFrame((frame) => {
    for (const res of clients) send(res, 'frame', frame);
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Method Not Allowed\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
    } else if (path.startsWith('/assets/') && ASSETS[path.slice(8)] !== undefined) {
      const name = path.slice(8);
      res.writeHead(200, { 'content-type': ASSETS[name]!.type, 'cache-control': 'max-age=3600' }).end(asset(name));
    } else if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      res.write('retry: 1000\n\n');
      send(res, 'history', recorder.frames);
      clients.add(res);
      res.on('close', () => clients.delete(res));
    } else if (path === '/frames.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(recorder.frames));
    } else if (path === '/metrics' && registry !== undefined) {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(registry.toPrometheus());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (options.keepAlive !== true) server.unref();
  // The first frame is there before anyone is told where to look.
  await recorder.start().tick();
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  let unlinkSignal = () => {};
  const close = (): Promise<void> => {
    closing ??= (async () => {
      unlinkSignal();
      await recorder.stop();
      for (const res of clients) {
        send(res, 'end', {});
        res.end();
      }
      clients.clear();
      stopProcess();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    })();
    return closing;
  };
  unlinkSignal = onAbort(options.signal, () => void close());
  return {
    url: `http://${shown}:${bound}/`,
    port: bound,
    get frames() {
      return recorder.frames;
    },
    recorder,
    close,
    [Symbol.asyncDispose]: close,
  };
}

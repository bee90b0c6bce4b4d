// `spate serve api`: the seeds' AsyncAPIService on Fastify, in one process or as a cluster
// (`--workers N`). SIGINT/SIGTERM close it gracefully and exit 0. `serve` is shared with
// serve-net.ts, so it is found or created here.
//
// Output: the one line `spate api listening on <url>` goes to stdout (scripts parse it), pino's
// JSON logs go to stdout too (one object a line), and notes for people go to stderr.
import cluster from 'node:cluster';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { type ApiServer, SEED_DELAYS, startApiServer } from '../serve/api.ts';
import { runCluster } from '../serve/cluster.ts';
import { durationOption } from './parse.ts';
import { type DashboardCliOptions, dashboardOption, startJobDashboard } from './dashboard.ts';

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}].`);
    return n;
  };
}

interface ApiCommandOptions extends DashboardCliOptions {
  port: number;
  host: string;
  workers: number;
  grace: number;
  logLevel: string;
  seedDelays: boolean;
  bodyLimit: number;
}

/** Resolves with the first of SIGINT / SIGTERM to arrive (and stops listening for both). */
function nextSignal(): Promise<string> {
  return new Promise<string>((resolve) => {
    const stop = (sig: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

async function serveOne(opts: ApiCommandOptions): Promise<void> {
  const worker = cluster.isWorker;
  if (worker) {
    // Ctrl-C reaches the whole process group, and the primary then forwards SIGTERM as well: a
    // second signal must not kill a worker that is draining (the primary SIGKILLs stragglers).
    process.on('SIGINT', noop);
    process.on('SIGTERM', noop);
  }
  // Listen for signals before listening on the port: a signal right after the line is printed must close, not kill.
  const signalled = nextSignal();
  let server: ApiServer;
  const dash = worker ? undefined : await startJobDashboard('serve api', opts);
  try {
    server = await startApiServer({
      registry: dash?.registry,
      port: opts.port,
      host: opts.host,
      graceMs: opts.grace,
      bodyLimit: opts.bodyLimit,
      logger: opts.logLevel === 'silent' ? false : { level: opts.logLevel },
      delays: opts.seedDelays ? SEED_DELAYS : undefined,
    });
  } catch (error) {
    process.stderr.write(`spate serve api: ${(error as Error).message}\n`);
    process.exitCode = 1;
    if (worker) cluster.worker?.disconnect();
    return;
  }
  if (!worker) {
    process.stdout.write(`spate api listening on ${server.url}\n`);
    process.stderr.write('spate serve api: Ctrl-C stops it\n');
  }
  const signal = await signalled;
  if (!worker) process.stderr.write(`spate serve api: ${signal}, closing (grace ${opts.grace} ms)\n`);
  await server.close();
  await dash?.finish({ kind: 'other' });
  process.exitCode = 0;
  // A worker's IPC channel would keep it alive; disconnecting tells the primary it left on purpose.
  if (worker) cluster.worker?.disconnect();
}

async function serveCluster(opts: ApiCommandOptions): Promise<void> {
  const stop = new AbortController();
  void nextSignal().then((signal) => {
    process.stderr.write(`spate serve api: ${signal}, closing ${opts.workers} workers (grace ${opts.grace} ms)\n`);
    stop.abort();
  });
  process.exitCode = await runCluster({
    workers: opts.workers,
    signal: stop.signal,
    // A worker may spend up to two grace periods closing: requests, then background tasks.
    killAfterMs: 2 * opts.grace + 5000,
    onListening: (address, pids) => {
      const shown = address.host.includes(':') ? `[${address.host}]` : address.host;
      process.stdout.write(`spate api listening on http://${shown}:${address.port}\n`);
      process.stderr.write(`spate serve api: ${pids.length} workers (pids ${pids.join(', ')}); Ctrl-C stops them\n`);
    },
  });
  // The primary has nothing left to wait for; a signal that never came must not keep it alive.
  stop.abort();
}

/** Adds `spate serve api`. */
export function register(program: Command): void {
  const serve = program.commands.find((c) => c.name() === 'serve') ?? program.command('serve').description('Run one of spate\'s servers.');

  serve.command('api')
    .description('The seeds\' API service on Fastify: /health, /slow?delay=, POST /echo, /data/:id, /metrics (Prometheus).')
    .option('-p, --port <port>', 'port to listen on (0 picks a free one)', integer('port', 0, 65_535), 8080)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('-w, --workers <n>', 'processes sharing the port (node:cluster); 1 runs in this process', integer('workers', 1, 1024), 1)
    .addOption(durationOption('--grace <duration>', 'on SIGINT/SIGTERM, how long requests in flight (then background tasks) get to finish', 10_000))
    .addOption(new Option('--log-level <level>', 'pino log level ("silent": no logs)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .option('--seed-delays', 'simulate the seeds\' I/O: 100 ms in /echo, 500 ms in /data (off by default: benchmarks would measure the sleep)', false)
    .option('--body-limit <bytes>', 'largest request body accepted (larger: 413)', integer('body-limit', 1), 1024 * 1024)
    .addOption(dashboardOption().conflicts('workers'))
    .addHelpText('after', '\nExamples:\n  spate serve api --port 8080\n  spate serve api --workers 4 --log-level warn\n  curl -s localhost:8080/health\n  curl -s -XPOST -H "content-type: application/json" -d \'{"hi":1}\' localhost:8080/echo\n')
    .action((opts: ApiCommandOptions) => (opts.workers > 1 && cluster.isPrimary ? serveCluster(opts) : serveOne(opts)));
}

function noop(): void {}

// `spate serve echo`, `spate serve chat`, `spate serve ws-chat`: run a server until SIGINT or
// SIGTERM, then close it gracefully and exit 0. `serve` is shared with other commands (`serve
// api`), so it is found or created here.
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { startChatServer } from '../tcp/chat-server.ts';
import { startEchoServer } from '../tcp/echo-server.ts';
import { startWsChatServer } from '../ws/chat-server.ts';
import { durationOption, formatDuration, parseDuration } from './parse.ts';
import { type DashboardCliOptions, dashboardOption, withDashboard } from './dashboard.ts';

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}].`);
    return n;
  };
}

/** `<limit>/<interval>` with the interval a duration (e.g. `20/1s`), or `off`. */
function rate(value: string): { limit: number; interval: number } | false {
  if (value === 'off') return false;
  const match = /^(\d+)\/(.+)$/.exec(value);
  const limit = Number(match?.[1]);
  let interval = 0;
  try {
    interval = match ? parseDuration(match[2]!) : 0;
  } catch {
    // Reported below with the whole format.
  }
  if (match === null || limit < 1 || interval < 1) throw new InvalidArgumentError('must be <limit>/<interval> (e.g. 20/1s) or "off"');
  return { limit, interval };
}

function rateOption(what: string): Option {
  return new Option('--rate <limit/interval>', `${what}, as <limit>/<interval> or "off"`).argParser(rate).default({ limit: 20, interval: 1000 }, '20/1s');
}

interface Closable {
  close(options: { graceMs: number }): Promise<void>;
}

/** Waits for SIGINT or SIGTERM, closes `server` within `graceMs`, and sets exit code 0. */
async function serveUntilSignal(name: string, server: Closable, graceMs: number): Promise<void> {
  const signal = await new Promise<string>((resolve) => {
    const stop = (sig: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(sig);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  process.stderr.write(`spate serve ${name}: ${signal}, closing (grace ${formatDuration(graceMs)})\n`);
  await server.close({ graceMs });
  process.exitCode = 0;
}

async function run(name: string, start: () => Promise<Closable & { url: string; stats(): object }>, graceMs: number, opts: DashboardCliOptions = {}): Promise<void> {
  let server;
  try {
    server = await withDashboard(`serve ${name}`, opts, start)();
  } catch (error) {
    process.stderr.write(`spate serve ${name}: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`spate serve ${name} listening on ${server.url}; Ctrl-C stops it\n`);
  await serveUntilSignal(name, server, graceMs);
}

interface Common extends DashboardCliOptions {
  port: number;
  host: string;
  grace: number;
}

/** Adds `spate serve echo`, `spate serve chat` and `spate serve ws-chat`. */
export function register(program: Command): void {
  const serve = program.commands.find((c) => c.name() === 'serve') ?? program.command('serve').description('Run one of spate\'s servers.');

  const common = (command: Command, port: number) =>
    command
      .option('-p, --port <port>', 'port to listen on (0 picks a free one)', integer('port', 0, 65_535), port)
      .option('--host <host>', 'interface to bind', '127.0.0.1')
      .addOption(durationOption('--grace <duration>', 'on SIGINT/SIGTERM, how long connections get to close before they are cut', 5000))
      .addOption(dashboardOption());

  common(serve.command('echo').description('TCP line echo server: answers each line with "Echo: <line>" (the seeds\' asyncio server).'), 8888)
    .option('--max-line-length <bytes>', 'longest line accepted; a longer one closes the connection', integer('max-line-length', 1), 64 * 1024)
    .addOption(durationOption('--idle-timeout <duration>', 'close connections silent this long (0s: never)', 60_000))
    .option('--max-connections <n>', 'refuse connections beyond this many', integer('max-connections', 1))
    .addHelpText('after', '\nExample:\n  spate serve echo --port 8888\n  printf "hello\\n" | nc 127.0.0.1 8888\n')
    .action((opts: Common & { maxLineLength: number; idleTimeout: number; maxConnections?: number }) =>
      run('echo', () => startEchoServer({ port: opts.port, host: opts.host, maxLineLength: opts.maxLineLength, idleTimeoutMs: opts.idleTimeout, maxConnections: opts.maxConnections }), opts.grace, opts));

  common(serve.command('chat').description('TCP line chat: nickname first, then lines to everyone else; /nick, /who, /quit.'), 9000)
    .option('--max-line-length <bytes>', 'longest line accepted', integer('max-line-length', 1), 4096)
    .option('--send-buffer <bytes>', 'unsent bytes a client may queue before it is dropped as too slow', integer('send-buffer', 1), 1024 * 1024)
    .addOption(rateOption('per-client line quota'))
    .addOption(durationOption('--idle-timeout <duration>', 'close connections silent this long (0s: never)', 300_000))
    .option('--anonymous', 'the seed\'s chat: no nickname step, clients named by address, every line a message', false)
    .addHelpText('after', '\nExample:\n  spate serve chat --port 9000 --rate 5/1s\n  nc 127.0.0.1 9000\n')
    .action((opts: Common & { maxLineLength: number; sendBuffer: number; rate: { limit: number; interval: number } | false; idleTimeout: number; anonymous: boolean }) =>
      run('chat', () => startChatServer({ port: opts.port, host: opts.host, maxLineLength: opts.maxLineLength, sendBufferBytes: opts.sendBuffer, rateLimit: opts.rate, idleTimeoutMs: opts.idleTimeout, anonymous: opts.anonymous }), opts.grace, opts));

  common(serve.command('ws-chat').description('WebSocket chat: JSON envelopes, rooms (?room=), nicknames (?nick=), join/leave with user counts.'), 8765)
    .option('--path <path>', 'the WebSocket endpoint', '/')
    .option('--max-payload <bytes>', 'largest frame accepted (larger: close 1009)', integer('max-payload', 1), 64 * 1024)
    .addOption(durationOption('--heartbeat <duration>', 'ping interval; a peer silent for two is dropped (0s: off)', 30_000))
    .addOption(rateOption('per-connection envelope quota'))
    .option('--max-buffered <bytes>', 'unsent bytes a peer may queue before it is closed as too slow (1013)', integer('max-buffered', 1), 1024 * 1024)
    .option('--deflate', 'negotiate permessage-deflate', false)
    .addHelpText('after', '\nExample:\n  spate serve ws-chat --port 8765\n  spate ws "ws://127.0.0.1:8765/?room=dev&nick=ann"\n')
    .action((opts: Common & { path: string; maxPayload: number; heartbeat: number; rate: { limit: number; interval: number } | false; maxBuffered: number; deflate: boolean }) =>
      run('ws-chat', () => startWsChatServer({
        port: opts.port,
        host: opts.host,
        path: opts.path,
        maxPayload: opts.maxPayload,
        heartbeatMs: opts.heartbeat,
        rateLimit: opts.rate,
        maxBufferedBytes: opts.maxBuffered,
        perMessageDeflate: opts.deflate,
      }), opts.grace, opts));
}

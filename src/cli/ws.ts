// `spate ws <url>`: a command-line WebSocket client in the manner of websocat, on `WsClient`:
// stdin lines become messages, incoming messages go to stdout one per line, the connection is
// re-made after drops, and stdin's end flushes, closes and exits 0 (SIGINT: 130) — but only when
// nothing may have been lost: never connected, messages written to a connection that then died
// (plain mode), or messages still unacknowledged after --drain-timeout (--reliable) exit 1.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../core/errors.ts';
import { type WsClientOptions, WsClient, type WsMessage } from '../ws/client.ts';
import { EXIT, runJob } from './job.ts';
import { durationOption, integer } from './parse.ts';

export interface WsCommandOptions {
  /** Send JSON envelopes and print incoming envelopes as JSON (otherwise raw text frames). */
  json?: boolean | undefined;
  /** Envelope type for lines that are not `{ "type": … }` objects. @default 'message' */
  type?: string | undefined;
  /** At-least-once delivery with seq/ack (implies `json`). */
  reliable?: boolean | undefined;
  headers?: Record<string, string> | undefined;
  protocols?: string[] | undefined;
  heartbeatMs?: number | undefined;
  pongTimeoutMs?: number | undefined;
  /** `false`: exit when the connection is lost. */
  reconnect?: boolean | undefined;
  maxAttempts?: number | undefined;
  bufferLimit?: number | undefined;
  deflate?: boolean | undefined;
  clientId?: string | undefined;
  /** Report connection changes on stderr. @default true */
  verbose?: boolean | undefined;
  /** At the end of input, how long to wait to connect and for everything to be written (and acknowledged, reliable). @default 10_000 */
  drainTimeoutMs?: number | undefined;
}

export interface WsCommandIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Aborting it interrupts the command (exit 130). */
  signal?: AbortSignal | undefined;
}

/**
 * Runs the `spate ws` client until stdin ends (exit 0 once everything is flushed), the client
 * gives up reconnecting (1), or `io.signal` aborts (130). Bad options: 2.
 *
 * @example
 * const code = await runWs('ws://127.0.0.1:8080/', { json: true }, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
 */
export async function runWs(url: string, options: WsCommandOptions, io: WsCommandIo): Promise<number> {
  const { stdin, stdout, stderr, signal } = io;
  const json = options.json === true || options.reliable === true;
  const fallbackType = options.type ?? 'message';
  const bufferLimit = options.bufferLimit ?? 1000;
  const verbose = options.verbose ?? true;
  let client: WsClient;
  try {
    const clientOptions: WsClientOptions = {
      protocols: options.protocols,
      headers: options.headers,
      heartbeatMs: options.heartbeatMs,
      pongTimeoutMs: options.pongTimeoutMs,
      reconnect: options.reconnect === false ? false : { maxAttempts: options.maxAttempts },
      bufferLimit,
      reliable: options.reliable,
      clientId: options.clientId,
      decode: json,
      perMessageDeflate: options.deflate,
    };
    client = new WsClient(url, clientOptions);
  } catch (error) {
    stderr.write(`spate ws: ${(error as Error).message}\n`);
    return 2;
  }
  if (signal?.aborted) {
    client.destroy();
    return 130;
  }
  const note = (text: string) => {
    if (verbose) stderr.write(`spate ws: ${text}\n`);
  };
  let connected = false;
  // Plain mode has no acks: a connection that ends without a clean close after messages were
  // written on it may have lost them. (Reliable mode resends; its drain decides.)
  let sentBefore = 0; // messages sent before the current connection

  let mayBeLost = 0;
  const reliable = options.reliable === true;
  client.on('error', (error) => note(error.message));
  client.on('open', ({ reconnect }) => {
    connected = true;
    note(reconnect ? 'reconnected' : `connected to ${client.url}`);
  });
  client.on('reconnecting', () => {
    if (!reliable && connected) mayBeLost += client.stats().sent - sentBefore;
    sentBefore = client.stats().sent;
  });
  client.on('close', ({ code }) => {
    if (!reliable && connected && code !== 1000) mayBeLost += client.stats().sent - sentBefore;
    sentBefore = client.stats().sent;
  });
  client.on('reconnecting', ({ attempt, delay }) => note(`connection lost; retry ${attempt} in ${Math.round(delay)} ms`));

  const lines = createInterface({ input: stdin, crlfDelay: Infinity });
  let interrupted = false;
  let failed = false;
  const onInterrupt = () => {
    interrupted = true;
    client.destroy();
    lines.close();
  };
  signal?.addEventListener('abort', onInterrupt, { once: true });
  client.once('close', ({ error }) => {
    if (error === undefined) return;
    failed = true;
    note(`giving up: ${error.message}`);
    lines.close();
  });

  const printing = (async () => {
    for await (const msg of client) {
      if (!stdout.write(format(msg, json))) await new Promise((resolve) => stdout.once('drain', resolve));
    }
  })();

  try {
    for await (const line of lines) {
      if (client.state === 'closed') break;
      if (client.stats().buffered >= bufferLimit) await client.flush();
      if (!json) client.sendRaw(line);
      else {
        const [type, payload] = toEnvelope(line, fallbackType);
        client.send(type, payload);
      }
    }
    if (!interrupted && !failed) {
      // End of input: connect if not yet, write (and get acks for) everything, within a bound.
      const drainMs = options.drainTimeoutMs ?? 10_000;
      const deadline = AbortSignal.timeout(drainMs);
      const bounded = signal ? AbortSignal.any([signal, deadline]) : deadline;
      try {
        if (!connected) await client.open({ signal: bounded });
        await client.close(1000, '', { signal: bounded });
      } catch (error) {
        if (signal?.aborted) throw error;
        failed = true;
        const s = client.stats();
        if (!connected) note(deadline.aborted ? `could not connect within ${drainMs} ms` : `could not connect: ${(error as Error).message}`);
        else if (deadline.aborted) note(`${s.buffered} messages not ${json && options.reliable ? 'acknowledged' : 'written'} within --drain-timeout (${drainMs} ms); they may be lost`);
        else note((error as Error).message);
      }
    }
    const lost = Math.max(client.stats().lost, mayBeLost);
    if (!interrupted && lost > 0) {
      failed = true;
      note(`${lost} messages were written to a connection that then died; they may be lost (--reliable resends them)`);
    }
  } catch (error) {
    if (!interrupted && !failed) {
      failed = true;
      note((error as Error).message);
    }
  } finally {
    signal?.removeEventListener('abort', onInterrupt);
    client.destroy();
    lines.close();
    await printing;
  }
  if (interrupted) return 130;
  return failed ? 1 : 0;
}

/** A line as an envelope: `{ "type": …, "payload": … }` as given, else the line (JSON if it parses) as the payload. */
function toEnvelope(line: string, fallbackType: string): [string, unknown] {
  let value: unknown = line;
  try {
    value = JSON.parse(line);
  } catch {
    // Not JSON: the text itself is the payload.
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as { type?: unknown }).type === 'string') {
    const envelope = value as { type: string; payload?: unknown };
    return [envelope.type, envelope.payload];
  }
  return [fallbackType, value];
}

function format(msg: WsMessage, json: boolean): string | Uint8Array {
  if (json && msg.envelope !== undefined) return `${JSON.stringify(msg.envelope)}\n`;
  if (msg.payload instanceof Uint8Array) return Buffer.concat([msg.payload, Buffer.from('\n')]);
  return `${String(msg.payload)}\n`;
}

function parseHeader(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const colon = value.indexOf(':');
  if (colon <= 0) throw new InvalidArgumentError(`Expected a header as "Name: value", got ${JSON.stringify(value)}`);
  return { ...previous, [value.slice(0, colon).trim()]: value.slice(colon + 1).trim() };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program.command('ws')
    .description('WebSocket client (like websocat): stdin lines → messages, messages → stdout; reconnects on drops')
    .argument('<url>', 'ws:// or wss:// URL')
    .option('--json', 'send each line as a JSON envelope {type, payload, timestamp}; print envelopes as JSON')
    .option('--type <type>', 'envelope type for lines that are not {"type": …} objects (with --json)', 'message')
    .option('--reliable', 'number envelopes and resend unacknowledged ones after a reconnect (implies --json; the server must ack)')
    .option('-H, --header <header>', 'extra handshake header "Name: value" (repeatable)', parseHeader)
    .option('--protocol <name>', 'subprotocol to offer (repeatable)', collect)
    .addOption(durationOption('--heartbeat <duration>', 'ping interval; 0s disables', 15_000))
    .addOption(durationOption('--pong-timeout <duration>', 'reconnect when a pong is this late', 10_000))
    .addOption(durationOption('--drain-timeout <duration>', 'at the end of input, the longest wait to connect and deliver what is buffered (acknowledged, with --reliable)', 10_000))
    .option('--max-attempts <n>', 'give up after this many failed reconnects in a row (default: never)', integer(0))
    .option('--no-reconnect', 'exit when the connection is lost')
    .option('--buffer <n>', 'most messages held while disconnected', integer(1), 1000)
    .option('--deflate', 'negotiate permessage-deflate')
    .option('--client-id <id>', 'client id sent as ?client= (default: random, with --reliable)')
    .option('-q, --quiet', 'do not report connection changes on stderr')
    .addHelpText('after', '\nExit codes: 0 stdin ended and everything was delivered, 1 never connected, the connection was given up, or messages may be lost, 2 usage, 130 interrupted.')
    .action((url: string, opts: {
      json?: boolean; type: string; reliable?: boolean; header?: Record<string, string>; protocol?: string[];
      heartbeat: number; pongTimeout: number; drainTimeout: number; maxAttempts?: number; reconnect: boolean; buffer: number;
      deflate?: boolean; clientId?: string; quiet?: boolean;
    }) => runJob('ws', async ({ signal }) => {
      const options: WsCommandOptions = {
        json: opts.json,
        type: opts.type,
        reliable: opts.reliable,
        headers: opts.header,
        protocols: opts.protocol,
        heartbeatMs: opts.heartbeat,
        pongTimeoutMs: opts.pongTimeout,
        maxAttempts: opts.maxAttempts ?? Infinity,
        reconnect: opts.reconnect,
        bufferLimit: opts.buffer,
        deflate: opts.deflate,
        clientId: opts.clientId,
        verbose: opts.quiet !== true,
        drainTimeoutMs: opts.drainTimeout,
      };
      const code = await runWs(url, options, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, signal });
      // stdin may still hold the event loop open after an interrupt.
      if (code === EXIT.interrupted) process.stdin.destroy();
      return code;
    }));
}

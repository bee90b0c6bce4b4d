// A line echo server (the seeds' asyncio `handle_client`, framed). Each `\n`-terminated line
// (`\r\n` accepted) is answered with `Echo: <line>\n`. Per connection there is a LineSplitter and
// the socket's own idle timeout — no other timer — so thousands of connections cost little.
//
// Backpressure: when `socket.write()` returns false the socket stops being read until 'drain'.
// A client that sends and never reads therefore fills the kernel buffers and then stops being
// served; the user-space write buffer grows by at most the replies to one received chunk (one write per chunk).
import { createServer, type Server, type Socket } from 'node:net';
import { type Clock, getClock } from '../core/clock.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import { LineSplitter } from './line-splitter.ts';
import { type CloseOptions, DEFAULT_BACKLOG, Stopper, checkPort, closeWhenFlushed, listen, serverHandle } from './listener.ts';

/** Options of `startEchoServer`. */
export interface EchoServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number | undefined;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string | undefined;
  /** Longest line accepted, in bytes without the terminator; a longer one gets an error line and the connection is closed. @default 65536 */
  maxLineLength?: number | undefined;
  /** A connection with no traffic either way for this long is closed; 0 disables. @default 60000 */
  idleTimeoutMs?: number | undefined;
  /** Connections beyond this many are refused (closed on accept). @default Infinity */
  maxConnections?: number | undefined;
  /** Pending connections the kernel may queue (capped by `net.core.somaxconn`). @default 4096 */
  backlog?: number | undefined;
  /** Aborting it closes the server (as `close()`). */
  signal?: AbortSignal | undefined;
  /** Clock for the shutdown grace period. @default getClock() */
  clock?: Clock | undefined;
}

export type { CloseOptions } from './listener.ts';

/** A snapshot of an echo server. */
export interface EchoServerStats {
  /** Open connections. */
  readonly connections: number;
  /** Connections whose reading is paused because their replies are not being read. */
  readonly paused: number;
  /** Connections accepted since start. */
  readonly accepted: number;
  /** Lines echoed since start. */
  readonly lines: number;
}

/** A running echo server. */
export interface EchoServer extends AsyncDisposable {
  /** The underlying `net.Server` (its 'connection' event gives each socket). */
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly address: string;
  /** `tcp://host:port`. */
  readonly url: string;
  /** Open connections. */
  readonly connections: number;
  readonly state: 'listening' | 'closing' | 'closed';
  /** A snapshot of the server's counters. */
  stats(): EchoServerStats;
  /** Stops accepting, ends every connection after its pending replies, destroys what is left after `graceMs`. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
  /** Stops accepting and destroys every connection now. Idempotent. */
  destroy(): Promise<void>;
}

const PREFIX = Buffer.from('Echo: ');
const NEWLINE = Buffer.from('\n');
const IDLE_LINE = 'Error: idle timeout\n';

/**
 * Starts a TCP server that answers each line with `Echo: <line>`.
 *
 * @example
 * await using server = await startEchoServer({ port: 8888 });
 * console.log(`Serving on ${server.address}`);
 */
export async function startEchoServer(options: EchoServerOptions = {}): Promise<EchoServer> {
  const port = checkPort(options.port ?? 0);
  const host = options.host ?? '127.0.0.1';
  const maxLineLength = checkInteger('maxLineLength', options.maxLineLength ?? 64 * 1024, 1);
  const idleTimeoutMs = checkNonNegative('idleTimeoutMs', options.idleTimeoutMs ?? 60_000);
  const maxConnections = checkInteger('maxConnections', options.maxConnections ?? Infinity, 1, true);
  const backlog = checkInteger('backlog', options.backlog ?? DEFAULT_BACKLOG, 1);
  checkSignal(options.signal);
  const clock = options.clock ?? getClock();
  const tooLongLine = `Error: line too long (max ${maxLineLength} bytes)\n`;

  const sockets = new Set<Socket>();
  let paused = 0;
  let accepted = 0;
  let lines = 0;

  const server = createServer({ noDelay: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    let isPaused = false;
    // Replies to one chunk go out in one write: far fewer syscalls than a write per line.
    let replies: Buffer[] = [];
    let replyBytes = 0;
    const splitter = new LineSplitter(maxLineLength, (line) => {
      lines++;
      replies.push(PREFIX, line, NEWLINE);
      replyBytes += PREFIX.length + line.length + 1;
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket.writableEnded) return;
      const result = splitter.push(chunk);
      if (replyBytes > 0) {
        const out = Buffer.concat(replies, replyBytes);
        replies = [];
        replyBytes = 0;
        if (!socket.write(out) && !isPaused) {
          isPaused = true;
          paused++;
          socket.pause();
        }
      }
      if (result === 'too-long') socket.end(tooLongLine);
    });
    // At end of stream an unterminated last line is still echoed (as the seed's server echoes
    // every chunk); then the connection ends, as with allowHalfOpen off.
    socket.on('end', () => {
      const rest = splitter.end();
      if (rest === undefined || socket.writableEnded) return;
      lines++;
      socket.end(Buffer.concat([PREFIX, rest, NEWLINE]));
    });
    socket.on('drain', () => {
      if (!isPaused) return;
      isPaused = false;
      paused--;
      socket.resume();
    });
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs, () => {
        // The second expiry means the farewell could not be flushed either.
        if (socket.writableEnded) socket.destroy();
        else socket.end(IDLE_LINE);
      });
    }
    socket.on('error', noop);
    socket.on('close', () => {
      sockets.delete(socket);
      if (isPaused) paused--;
    });
  });
  if (maxConnections !== Infinity) server.maxConnections = maxConnections;

  const bound = await listen(server, port, host, backlog);
  const stopper = new Stopper(server, sockets, endSocket, clock, options.signal);

  // Object.assign keeps the handle's getters live (it reads only the source's properties).
  return Object.assign(serverHandle(server, bound, sockets, stopper), {
    stats: () => ({ connections: sockets.size, paused, accepted, lines }),
  });

}

function endSocket(socket: Socket): void {
  if (!socket.writableEnded) socket.end();
  closeWhenFlushed(socket);
}

function noop(): void {}

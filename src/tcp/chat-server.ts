// A line-based TCP chat (the seeds' broadcast server, done for production).
//
// Protocol, one line each way (`\n`, `\r\n` accepted):
//   server → "* Welcome! Choose a nickname:"            the first line a client sends is its nickname
//   taken / invalid → "! …" and the prompt again       (no automatic suffix: the user picks)
//   others ← "* <nick> joined (<n> users)", "* <nick> left (<n> users)",
//            "* <nick> was disconnected: too slow", "* <old> is now <new>"
//   a chat line → "<nick>: <text>" to everyone but the sender
//   commands: /nick <name>, /who → "* Users (<n>): a, b", /quit → "* Bye!"
//   refusals start with "! " (rate limit, unknown command, line too long, idle timeout).
//
// Memory per client is bounded: a broadcast is encoded once and written to each socket, and a
// client whose unsent bytes (`writableLength`) pass `sendBufferBytes` is destroyed at once — its
// buffer is freed and the others are told — instead of being buffered without end. Reading is
// bounded by `maxLineLength`. Per connection: a LineSplitter, a RateLimiter (a small array, no
// timer) and the socket's idle timeout; no other timer.
import { createServer, type Server, type Socket } from 'node:net';
import { type Clock, getClock } from '../core/clock.ts';
import { RateLimiter } from '../core/rate-limiter.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import { LineSplitter } from './line-splitter.ts';
import { type CloseOptions, DEFAULT_BACKLOG, Stopper, checkPort, closeWhenFlushed, listen, serverHandle } from './listener.ts';

/** A per-client message quota: at most `limit` lines in any `interval` ms. */
export interface RateLimit {
  readonly limit: number;
  readonly interval: number;
}

/** Options of `startChatServer`. */
export interface ChatServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number | undefined;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string | undefined;
  /** Longest line accepted, in bytes; a longer one closes the connection. @default 4096 */
  maxLineLength?: number | undefined;
  /** Unsent bytes a client may have queued; past this it is dropped as too slow. @default 1048576 */
  sendBufferBytes?: number | undefined;
  /** Per-client quota of lines (messages, commands, nickname attempts); `false` disables. @default { limit: 20, interval: 1000 } */
  rateLimit?: RateLimit | false | undefined;
  /** A connection silent both ways for this long is closed; 0 disables. @default 300000 */
  idleTimeoutMs?: number | undefined;
  /** Longest nickname, in characters. @default 32 */
  maxNickLength?: number | undefined;
  /**
   * The seed's chat (`asyncio.start_server` broadcasting `"{addr}: {message}"`): no nickname
   * step — a client is named by its address — and every line is a message (no commands).
   * @default false
   */
  anonymous?: boolean | undefined;
  /** Pending connections the kernel may queue (capped by `net.core.somaxconn`). @default 4096 */
  backlog?: number | undefined;
  /** Aborting it closes the server (as `close()`). */
  signal?: AbortSignal | undefined;
  /** Clock for rate limits and the shutdown grace period. @default getClock() */
  clock?: Clock | undefined;
}

/** A snapshot of a chat server. */
export interface ChatServerStats {
  /** Open connections, with or without a nickname. */
  readonly connections: number;
  /** Clients that have a nickname. */
  readonly users: number;
  /** Clients dropped for not reading fast enough. */
  readonly dropped: number;
  /** Lines refused by the rate limit. */
  readonly rateLimited: number;
  /** Chat messages relayed (each counted once, whatever the number of recipients). */
  readonly messages: number;
}

/** A running chat server. */
export interface ChatServer extends AsyncDisposable {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly address: string;
  /** `tcp://host:port`. */
  readonly url: string;
  readonly connections: number;
  readonly state: 'listening' | 'closing' | 'closed';
  /** Nicknames in the chat, in joining order. */
  users(): string[];
  /** A snapshot of the server's counters. */
  stats(): ChatServerStats;
  /** Tells every client the server is shutting down, ends the connections, destroys what is left after `graceMs`. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
  /** Stops accepting and destroys every connection now. Idempotent. */
  destroy(): Promise<void>;
}

interface Client {
  readonly socket: Socket;
  readonly limiter: RateLimiter | undefined;
  nick: string | undefined;
  gone: boolean;
}

const PROMPT = '* Welcome! Choose a nickname:\n';
const HELP = 'Commands: /nick <name>, /who, /quit';

/**
 * Starts a line-based TCP chat server: nicknames, join/leave notices, broadcast to everyone but
 * the sender, `/nick`, `/who`, `/quit`, per-client rate limit and bounded send buffers.
 *
 * @example
 * await using chat = await startChatServer({ port: 9000 });
 * console.log(`Chat on ${chat.address}`); // then: nc 127.0.0.1 9000
 */
export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const port = checkPort(options.port ?? 0);
  const host = options.host ?? '127.0.0.1';
  const maxLineLength = checkInteger('maxLineLength', options.maxLineLength ?? 4096, 1);
  const sendBufferBytes = checkInteger('sendBufferBytes', options.sendBufferBytes ?? 1024 * 1024, 1);
  const idleTimeoutMs = checkNonNegative('idleTimeoutMs', options.idleTimeoutMs ?? 300_000);
  const maxNickLength = checkInteger('maxNickLength', options.maxNickLength ?? 32, 1);
  const rateLimit = options.rateLimit ?? { limit: 20, interval: 1000 };
  const backlog = checkInteger('backlog', options.backlog ?? DEFAULT_BACKLOG, 1);
  checkSignal(options.signal);
  const clock = options.clock ?? getClock();
  if (rateLimit !== false) new RateLimiter({ ...rateLimit, clock }); // validates the quota now
  const tooLongLine = `! Line too long (max ${maxLineLength} bytes)\n`;
  const anonymous = options.anonymous ?? false;
  const nickPattern = new RegExp(`^[\\p{L}\\p{N}_.-]{1,${maxNickLength}}$`, 'u');

  const sockets = new Set<Socket>();
  const members = new Map<string, Client>();
  const toDrop: Client[] = [];
  let dropping = false;
  let dropped = 0;
  let rateLimited = 0;
  let messages = 0;

  function send(client: Client, data: string | Buffer): void {
    if (client.gone || client.socket.writableEnded) return;
    client.socket.write(data);
    if (client.socket.writableLength > sendBufferBytes) {
      client.gone = true;
      toDrop.push(client);
    }
  }

  function broadcast(text: string, except?: Client): void {
    const data = Buffer.from(text);
    for (const member of members.values()) if (member !== except) send(member, data);
    dropSlow();
  }

  // Drops are handled after the loop that found them; the notice about one drop can find more,
  // which the same loop handles. Each pass removes clients, so it ends.
  function dropSlow(): void {
    if (dropping) return;
    dropping = true;
    for (let client = toDrop.pop(); client !== undefined; client = toDrop.pop()) {
      dropped++;
      const nick = client.nick;
      leave(client);
      client.socket.destroy();
      if (nick !== undefined && stopper.state === 'listening') {
        const data = Buffer.from(`* ${nick} was disconnected: too slow\n`);
        for (const member of members.values()) send(member, data);
      }
    }
    dropping = false;
  }

  /** Removes `client` from the chat; returns whether it had joined. */
  function leave(client: Client): boolean {
    client.gone = true;
    if (client.nick === undefined || members.get(client.nick) !== client) return false;
    members.delete(client.nick);
    return true;
  }

  function checkNick(client: Client, nick: string): string | undefined {
    if (!nickPattern.test(nick)) return `! Invalid nickname: use 1-${maxNickLength} letters, digits, "_", "-" or "."\n`;
    const holder = members.get(nick);
    if (holder !== undefined && holder !== client) return `! Nickname "${nick}" is taken\n`;
    return undefined;
  }

  function onLine(client: Client, line: string): void {
    if (client.gone) return;
    if (client.limiter !== undefined && !client.limiter.tryAcquire()) {
      rateLimited++;
      send(client, '! Rate limit exceeded: message not sent\n');
      dropSlow();
      return;
    }
    if (client.nick === undefined) {
      const nick = line.trim();
      const problem = checkNick(client, nick);
      if (problem !== undefined) send(client, problem + PROMPT);
      else {
        client.nick = nick;
        members.set(nick, client);
        send(client, `* Hello ${nick}, ${userCount(members.size)} online. ${HELP}\n`);
        broadcast(`* ${nick} joined (${userCount(members.size)})\n`, client);
      }
      dropSlow();
      return;
    }
    if (line.startsWith('/') && !anonymous) command(client, client.nick, line);
    else if (line.length > 0) {
      messages++;
      broadcast(`${client.nick}: ${line}\n`, client);
    }
    dropSlow();
  }

  function command(client: Client, nick: string, line: string): void {
    const space = line.indexOf(' ');
    const name = space === -1 ? line : line.slice(0, space);
    const arg = space === -1 ? '' : line.slice(space + 1).trim();
    switch (name) {
      case '/who':
        send(client, `* Users (${members.size}): ${[...members.keys()].join(', ')}\n`);
        return;
      case '/quit':
        leave(client);
        client.socket.end('* Bye!\n');
        broadcast(`* ${nick} left (${userCount(members.size)})\n`);
        return;
      case '/nick': {
        const problem = checkNick(client, arg);
        if (problem !== undefined) send(client, problem);
        else if (arg !== nick) {
          members.delete(nick);
          client.nick = arg;
          members.set(arg, client);
          broadcast(`* ${nick} is now ${arg}\n`);
        }
        return;
      }
      default:
        send(client, `! Unknown command: ${name}. ${HELP}\n`);
    }
  }

  const server = createServer({ noDelay: true }, (socket) => {
    const limiter = rateLimit === false ? undefined : new RateLimiter({ ...rateLimit, clock });
    const client: Client = { socket, limiter, nick: undefined, gone: false };
    sockets.add(socket);
    const splitter = new LineSplitter(maxLineLength, (line) => onLine(client, line.toString()));
    socket.on('data', (chunk: Buffer) => {
      if (client.gone || socket.writableEnded) return;
      if (splitter.push(chunk) !== 'too-long') return;
      const had = leave(client);
      socket.end(tooLongLine);
      if (had) broadcast(`* ${client.nick} left (${userCount(members.size)})\n`);
    });
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs, () => {
        // The second expiry means the farewell could not be flushed either.
        if (socket.writableEnded) return void socket.destroy();
        const had = leave(client);
        socket.end('! Idle timeout\n');
        if (had) broadcast(`* ${client.nick} left (${userCount(members.size)})\n`);
      });
    }
    socket.on('error', noop);
    socket.on('close', () => {
      sockets.delete(socket);
      if (leave(client) && stopper.state === 'listening') broadcast(`* ${client.nick} left (${userCount(members.size)})\n`);
    });
    if (anonymous) {
      // Named by address, like the seed's `writer.get_extra_info('peername')`.
      client.nick = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
      members.set(client.nick, client);
      return;
    }
    send(client, PROMPT);
    dropSlow();
  });

  const bound = await listen(server, port, host, backlog);
  const stopper = new Stopper(server, sockets, farewell, clock, options.signal);

  function farewell(socket: Socket): void {
    if (!socket.writableEnded) socket.end('* Server shutting down\n');
    closeWhenFlushed(socket);
  }

  // Object.assign keeps the handle's getters live (it reads only the source's properties).
  return Object.assign(serverHandle(server, bound, sockets, stopper), {
    users: () => [...members.keys()],
    stats: () => ({ connections: sockets.size, users: members.size, dropped, rateLimited, messages }),
  });

}

function userCount(n: number): string {
  return n === 1 ? '1 user' : `${n} users`;
}

function noop(): void {}

// A WebSocket chat server on `ws` (the seeds' `websockets` chat_server / notify_all, done for
// production). Wire format and reliability protocol: `protocol.ts`.
//
// Connect to `ws://host:port<path>?room=<room>&nick=<nick>&client=<id>` (all optional: the room
// defaults to 'lobby', the nickname to 'guest-<n>'). Everyone in the room, the newcomer
// included, gets `{ type: 'join', payload: { nick, room, users } }`; `leave` likewise. A client
// sends `message` (relayed to the room with `from` and `room`), `join` with `{ room?, nick? }`
// to move or rename, `nick` with a string to rename, `ping` (answered with `pong`); `chat` is
// an alias of `message` (seed 002's envelope). A frame of plain text (not JSON, or a JSON scalar)
// is a chat message from a plain-text client (seed 003's), which is answered in lines of text
// from then on (`?format=text`: from the start).
//
// Limits, each with its close code:
//   a frame over `maxPayload` → 1009 (by `ws`); a binary frame → 1003;
//   bad JSON, a bad envelope, an unknown type, or a message over the rate limit → an `error`
//   envelope, and `maxViolations` of them in a row → 1008;
//   a peer whose unsent bytes (`bufferedAmount`) pass `maxBufferedBytes` → 1013, removed from
//   its room at once (the others get `leave` with reason 'too slow') and sent nothing more, so
//   its buffer cannot grow; the next heartbeat tick terminates it if the close has not finished;
//   a peer that has not answered the previous ping by the next heartbeat tick → terminated;
//   `close()` → 1001 to everyone, then terminate whoever is left after `graceMs`.
//
// Timers: one heartbeat timer for the whole server (not one per connection).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { type Clock, type Timer, getClock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { RateLimiter } from '../core/rate-limiter.ts';
import { onAbort } from '../core/signals.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import {
  CloseCode,
  DEFAULT_ROOM,
  type Envelope,
  type ErrorPayload,
  type JoinRequest,
  type NickPayload,
  type PresencePayload,
  type ProtocolErrorCode,
  QueryParam,
  asText,
  decode,
  encode,
  envelope,
  isPlainText,
} from './protocol.ts';

/** A per-connection quota: at most `limit` envelopes in any `interval` ms. */
export interface WsRateLimit {
  readonly limit: number;
  readonly interval: number;
}

/** Options of `startWsChatServer`. */
export interface WsChatServerOptions {
  /** Port to listen on; 0 picks a free one. @default 0 */
  port?: number | undefined;
  /** Interface to bind. @default '127.0.0.1' */
  host?: string | undefined;
  /** Only upgrades to this path are accepted (others get 400). @default '/' */
  path?: string | undefined;
  /** Largest frame accepted, in bytes; a larger one closes the connection with 1009. @default 65536 */
  maxPayload?: number | undefined;
  /** Ping every peer this often; one that has not answered since the last ping is terminated. 0 disables. @default 30000 */
  heartbeatMs?: number | undefined;
  /** Per-connection quota of envelopes (pings and acks not counted); `false` disables. @default { limit: 20, interval: 1000 } */
  rateLimit?: WsRateLimit | false | undefined;
  /** Unsent bytes a peer may have queued before it is closed as too slow (1013). @default 1048576 */
  maxBufferedBytes?: number | undefined;
  /** Invalid or refused envelopes in a row before the connection is closed with 1008. @default 10 */
  maxViolations?: number | undefined;
  /** Negotiate permessage-deflate (costs CPU and memory per connection). @default false */
  perMessageDeflate?: boolean | undefined;
  /** Relay a message to its sender too (as the seeds' notify_all does). @default true */
  echoToSender?: boolean | undefined;
  /** Longest nickname or room name, in characters. @default 32 */
  maxNameLength?: number | undefined;
  /** Client ids whose last `seq` is remembered for de-duplication (least recently seen forgotten first). @default 10000 */
  maxTrackedClients?: number | undefined;
  /** Pending connections the kernel may queue (capped by `net.core.somaxconn`). @default 4096 */
  backlog?: number | undefined;
  /** Aborting it closes the server (as `close()`). */
  signal?: AbortSignal | undefined;
  /** Clock for the heartbeat, rate limits and the shutdown grace period. @default getClock() */
  clock?: Clock | undefined;
}

/** Options of `close()`. */
export interface WsCloseOptions {
  /** How long peers get to complete the closing handshake before they are terminated. @default 5000 */
  graceMs?: number | undefined;
  /** The close reason sent with 1001. @default 'server shutting down' */
  reason?: string | undefined;
}

/** A snapshot of a chat server. */
export interface WsChatServerStats {
  readonly connections: number;
  readonly rooms: number;
  /** Messages relayed (each once, whatever the number of recipients). */
  readonly messages: number;
  /** Envelopes dropped as duplicates (`seq` already seen). */
  readonly duplicates: number;
  readonly rateLimited: number;
  /** Peers closed for not reading fast enough. */
  readonly slow: number;
  /** Peers terminated by the heartbeat. */
  readonly timedOut: number;
}

/** A running WebSocket chat server. */
export interface WsChatServer extends AsyncDisposable {
  readonly server: Server;
  readonly wss: WebSocketServer;
  readonly host: string;
  readonly port: number;
  /** `host:port`. */
  readonly address: string;
  /** `ws://host:port<path>`. */
  readonly url: string;
  readonly connections: number;
  readonly state: 'listening' | 'closing' | 'closed';
  /** Nicknames in `room`, in joining order. */
  users(room?: string): string[];
  /** Room names with at least one user. */
  rooms(): string[];
  /** A snapshot of the server's counters. */
  stats(): WsChatServerStats;
  /** Stops accepting, closes every peer with 1001, terminates whoever is left after `graceMs`. Idempotent. */
  close(options?: WsCloseOptions): Promise<void>;
  /** Stops accepting and terminates every peer now. Idempotent. */
  destroy(): Promise<void>;
}

interface Peer {
  readonly ws: WebSocket;
  readonly clientId: string | undefined;
  readonly limiter: RateLimiter | undefined;
  nick: string;
  room: string;
  alive: boolean;
  /** Removed from its room; nothing more is sent to it. */
  gone: boolean;
  violations: number;
  /** Last `seq` seen from a peer without a client id. */
  lastSeq: number;
  /** A plain-text peer (the seed's client): it gets lines of text, not envelopes. */
  text: boolean;
}

const SHUTDOWN_REASON = 'server shutting down';

/**
 * Starts a WebSocket chat server with rooms, nicknames, JSON envelopes, rate limits, a heartbeat,
 * slow-consumer protection, acknowledgements with de-duplication, and graceful shutdown.
 *
 * @example
 * await using chat = await startWsChatServer({ port: 8765 });
 * console.log(`Chat on ${chat.url}`); // clients connect to ws://127.0.0.1:8765/?room=dev&nick=ann
 */
export async function startWsChatServer(options: WsChatServerOptions = {}): Promise<WsChatServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`Expected \`port\` to be an integer from 0 to 65535, got ${String(port)}`);
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/';
  if (!path.startsWith('/')) throw new InvalidArgumentError(`Expected \`path\` to start with "/", got ${JSON.stringify(path)}`);
  const maxPayload = checkInteger('maxPayload', options.maxPayload ?? 64 * 1024, 1);
  const heartbeatMs = checkNonNegative('heartbeatMs', options.heartbeatMs ?? 30_000);
  const maxBufferedBytes = checkInteger('maxBufferedBytes', options.maxBufferedBytes ?? 1024 * 1024, 1);
  const maxViolations = checkInteger('maxViolations', options.maxViolations ?? 10, 1);
  const maxNameLength = checkInteger('maxNameLength', options.maxNameLength ?? 32, 1);
  const maxTrackedClients = checkInteger('maxTrackedClients', options.maxTrackedClients ?? 10_000, 1);
  const echoToSender = options.echoToSender ?? true;
  const backlog = checkInteger('backlog', options.backlog ?? 4096, 1);
  const rateLimit = options.rateLimit ?? { limit: 20, interval: 1000 };
  checkSignal(options.signal);
  const clock = options.clock ?? getClock();
  if (rateLimit !== false) new RateLimiter({ ...rateLimit, clock }); // validates the quota now
  const namePattern = new RegExp(`^[\\p{L}\\p{N}_.-]{1,${maxNameLength}}$`, 'u');

  const peers = new Set<Peer>();
  const rooms = new Map<string, Set<Peer>>();
  const nicks = new Map<string, Peer>();
  // Last seq per client id, least recently used first (Map keeps insertion order).
  const lastSeqs = new Map<string, number>();
  let guests = 0;
  let messages = 0;
  let duplicates = 0;
  let rateLimited = 0;
  let slow = 0;
  let timedOut = 0;
  let state: WsChatServer['state'] = 'listening';
  let stopping: Promise<void> | undefined;
  let heartbeat: Timer | undefined;
  const slowPeers: Peer[] = [];

  const server = createServer((_req, res) => {
    const body = JSON.stringify({ error: 'Upgrade Required', message: `Connect with WebSocket to ${path}` });
    res.writeHead(426, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), upgrade: 'websocket' });
    res.end(body);
  });
  const wss = new WebSocketServer({ server, path, maxPayload, perMessageDeflate: options.perMessageDeflate ?? false, clientTracking: false });
  // `ws` re-emits the HTTP server's errors; the listen error is reported by `listen` below.
  wss.on('error', noop);

  // ---- sending ---------------------------------------------------------------------------

  function sendRaw(peer: Peer, data: Buffer | string): void {
    if (peer.gone || peer.ws.readyState !== peer.ws.OPEN) return;
    peer.ws.send(data, { binary: false });
    if (peer.ws.bufferedAmount > maxBufferedBytes) {
      peer.gone = true;
      slowPeers.push(peer);
    }
  }

  function send(peer: Peer, message: Envelope | { type: 'ack'; seq: number }): void {
    if (!peer.text) return void sendRaw(peer, encode(message));
    const line = message.type === 'ack' ? undefined : asText(message as Envelope);
    if (line !== undefined) sendRaw(peer, line);
  }

  // A broadcast is serialised and framed once, and the same bytes are written to every socket
  // (uWebSockets' publish): no framing, options or cork/uncork per peer. With permessage-deflate
  // ws may queue frames while it compresses, so then every send goes through ws.
  const frameOnce = !(options.perMessageDeflate ?? false);
  function toRoom(room: string, message: Envelope, except?: Peer): void {
    const members = rooms.get(room);
    if (members === undefined) return;
    let data: Buffer | undefined;
    let frame: Buffer | undefined;
    let line: string | undefined | null = null;
    for (const member of members) {
      if (member === except) continue;
      if (member.text) {
        if (line === null) line = asText(message);
        if (line !== undefined) sendRaw(member, line);
        continue;
      }
      data ??= Buffer.from(encode(message));
      if (!frameOnce) {
        sendRaw(member, data);
        continue;
      }
      if (member.gone || member.ws.readyState !== member.ws.OPEN) continue;
      const socket = (member.ws as unknown as { _socket?: Socket | null })._socket;
      if (socket === undefined || socket === null) sendRaw(member, data);
      else {
        socket.write((frame ??= textFrame(data)));
        if (member.ws.bufferedAmount > maxBufferedBytes) {
          member.gone = true;
          slowPeers.push(member);
        }
      }
    }
  }

  // A slow peer found while sending is handled after the send loop; the `leave` about it can find
  // more, handled by the same loop. Each pass removes a peer, so it ends.
  let droppingSlow = false;
  function dropSlow(): void {
    if (droppingSlow) return;
    droppingSlow = true;
    for (let peer = slowPeers.pop(); peer !== undefined; peer = slowPeers.pop()) {
      slow++;
      peer.ws.close(CloseCode.tryAgainLater, 'too slow');
      removeFromRoom(peer, 'too slow');
    }
    droppingSlow = false;
  }

  function error(peer: Peer, code: ProtocolErrorCode, message: string, seq?: number): void {
    const payload: ErrorPayload = seq === undefined ? { code, message } : { code, message, seq };
    send(peer, envelope('error', payload));
  }

  /** Counts a violation; closes the peer with 1008 when there have been too many in a row. */
  function violation(peer: Peer, code: ProtocolErrorCode, message: string, seq?: number): boolean {
    peer.violations++;
    if (peer.violations >= maxViolations) {
      error(peer, code, message, seq);
      peer.ws.close(CloseCode.policyViolation, 'too many invalid messages');
      removeFromRoom(peer, 'closed');
      return true;
    }
    error(peer, code, message, seq);
    return false;
  }

  // ---- rooms and names ---------------------------------------------------------------------

  function addToRoom(peer: Peer, room: string): void {
    peer.room = room;
    let members = rooms.get(room);
    if (members === undefined) rooms.set(room, (members = new Set()));
    members.add(peer);
    const payload: PresencePayload = { nick: peer.nick, room, users: members.size };
    toRoom(room, envelope('join', payload, { room }));
  }

  /** Takes the peer out of its room (for good if `reason` is given) and tells the room. */
  function removeFromRoom(peer: Peer, reason?: string): void {
    const members = rooms.get(peer.room);
    if (reason !== undefined) {
      peer.gone = true;
      if (nicks.get(peer.nick) === peer) nicks.delete(peer.nick);
    }
    if (members === undefined || !members.delete(peer)) return;
    if (members.size === 0) rooms.delete(peer.room);
    if (state !== 'listening') return;
    const payload: PresencePayload = reason === undefined
      ? { nick: peer.nick, room: peer.room, users: members.size }
      : { nick: peer.nick, room: peer.room, users: members.size, reason };
    toRoom(peer.room, envelope('leave', payload, { room: peer.room }));
  }

  function nameProblem(kind: 'nickname' | 'room', name: unknown): string | undefined {
    if (typeof name !== 'string' || !namePattern.test(name)) return `Invalid ${kind}: use 1-${maxNameLength} letters, digits, "_", "-" or "."`;
    return undefined;
  }

  function rename(peer: Peer, nick: unknown, seq: number | undefined): void {
    const problem = nameProblem('nickname', nick);
    if (problem !== undefined || typeof nick !== 'string') return void error(peer, 'bad-nick', problem ?? '', seq);
    if (nick === peer.nick) return;
    if (nicks.has(nick)) return void error(peer, 'nick-taken', `Nickname "${nick}" is taken`, seq);
    const old = peer.nick;
    nicks.delete(old);
    nicks.set(nick, peer);
    peer.nick = nick;
    const payload: NickPayload = { old, nick, room: peer.room };
    toRoom(peer.room, envelope('nick', payload, { room: peer.room }));
  }

  function guestName(): string {
    let nick: string;
    do nick = `guest-${++guests}`;
    while (nicks.has(nick));
    return nick;
  }

  // ---- receiving ---------------------------------------------------------------------------

  function onMessage(peer: Peer, data: RawData, isBinary: boolean): void {
    peer.alive = true;
    if (peer.gone) return;
    if (isBinary) {
      peer.ws.close(CloseCode.unsupportedData, 'binary frames are not supported');
      removeFromRoom(peer, 'closed');
      dropSlow();
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
    const decoded = decode(text);
    if (!decoded.ok && isPlainText(text, decoded.code)) {
      // The seed's client sends plain text: it is a chat message, and the peer is answered in kind.
      peer.text = true;
      handle(peer, envelope('message', text));
      dropSlow();
      return;
    }
    if (!decoded.ok) {
      violation(peer, decoded.code, decoded.message);
      dropSlow();
      return;
    }
    let ackSeq = -1;
    for (const message of decoded.envelopes) {
      if (peer.gone) break;
      const seq = message.seq;
      if (seq !== undefined) {
        const last = peer.clientId === undefined ? peer.lastSeq : (lastSeqs.get(peer.clientId) ?? -1);
        if (seq <= last) {
          duplicates++;
          ackSeq = Math.max(ackSeq, last);
          continue;
        }
        // Recorded before handling: a refused envelope is still received (its error says so).
        if (peer.clientId === undefined) peer.lastSeq = seq;
        else rememberSeq(peer.clientId, seq);
        ackSeq = seq;
      }
      handle(peer, message);
    }
    if (ackSeq >= 0 && !peer.gone) send(peer, { type: 'ack', seq: ackSeq });
    dropSlow();
  }

  function rememberSeq(clientId: string, seq: number): void {
    lastSeqs.delete(clientId);
    lastSeqs.set(clientId, seq);
    if (lastSeqs.size > maxTrackedClients) {
      const oldest = lastSeqs.keys().next();
      if (oldest.done !== true) lastSeqs.delete(oldest.value);
    }
  }

  function handle(peer: Peer, message: Envelope): void {
    const { type, seq } = message;
    if (type === 'ping') return void send(peer, envelope('pong', message.payload));
    if (type === 'ack' || type === 'pong') return;
    if (peer.limiter !== undefined && !peer.limiter.tryAcquire()) {
      rateLimited++;
      violation(peer, 'rate-limited', 'Rate limit exceeded: message not sent', seq);
      return;
    }
    switch (type) {
      case 'message':
      case 'chat': {
        peer.violations = 0;
        messages++;
        const relayed = envelope('message', message.payload, { from: peer.nick, room: peer.room, ...(message.id === undefined ? {} : { id: message.id }) });
        toRoom(peer.room, relayed, echoToSender ? undefined : peer);
        return;
      }
      case 'nick':
        peer.violations = 0;
        rename(peer, message.payload, seq);
        return;
      case 'join': {
        peer.violations = 0;
        const request = (typeof message.payload === 'object' && message.payload !== null ? message.payload : {}) as JoinRequest;
        if (request.nick !== undefined) rename(peer, request.nick, seq);
        if (request.room === undefined || request.room === peer.room) return;
        const problem = nameProblem('room', request.room);
        if (problem !== undefined) return void error(peer, 'bad-room', problem, seq);
        removeFromRoom(peer);
        addToRoom(peer, request.room);
        return;
      }
      default:
        violation(peer, 'unknown-type', `Unknown envelope type ${JSON.stringify(type)}`, seq);
    }
  }

  // ---- connections -------------------------------------------------------------------------

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const query = new URL(req.url ?? '/', 'ws://localhost').searchParams;
    const room = query.get(QueryParam.room) ?? DEFAULT_ROOM;
    const wanted = query.get(QueryParam.nick);
    const clientId = query.get(QueryParam.client) ?? undefined;
    if (state !== 'listening') return void ws.close(CloseCode.goingAway, SHUTDOWN_REASON);
    const roomProblem = nameProblem('room', room);
    if (roomProblem !== undefined) return void ws.close(CloseCode.policyViolation, roomProblem);
    if (clientId !== undefined && clientId.length > 128) return void ws.close(CloseCode.policyViolation, 'client id too long');

    const limiter = rateLimit === false ? undefined : new RateLimiter({ ...rateLimit, clock });
    const peer: Peer = { ws, clientId, limiter, nick: '', room, alive: true, gone: false, violations: 0, lastSeq: -1, text: query.get(QueryParam.format) === 'text' };
    peers.add(peer);
    ws.on('message', (data, isBinary) => onMessage(peer, data, isBinary));
    ws.on('pong', () => {
      peer.alive = true;
    });
    ws.on('error', noop);
    ws.on('close', () => {
      peers.delete(peer);
      removeFromRoom(peer, 'closed');
      dropSlow();
    });

    if (wanted !== null && nameProblem('nickname', wanted) !== undefined) error(peer, 'bad-nick', nameProblem('nickname', wanted)!);
    else if (wanted !== null && nicks.has(wanted)) error(peer, 'nick-taken', `Nickname "${wanted}" is taken`);
    peer.nick = wanted !== null && nameProblem('nickname', wanted) === undefined && !nicks.has(wanted) ? wanted : guestName();
    nicks.set(peer.nick, peer);
    addToRoom(peer, room);
    dropSlow();
  });

  function tick(): void {
    heartbeat = undefined;
    for (const peer of peers) {
      if (peer.gone || !peer.alive) {
        if (!peer.gone) timedOut++;
        peer.ws.terminate();
        continue;
      }
      peer.alive = false;
      peer.ws.ping();
    }
    if (state === 'listening') heartbeat = clock.setTimer(heartbeatMs, tick);
  }

  const bound = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  if (heartbeatMs > 0) heartbeat = clock.setTimer(heartbeatMs, tick);
  const unlinkSignal = onAbort(options.signal, () => void close());
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;

  function stopAccepting(): Promise<void> {
    state = 'closing';
    unlinkSignal();
    heartbeat?.clear();
    heartbeat = undefined;
    return new Promise<void>((resolve) => {
      wss.close(() => server.close(() => resolve()));
      server.closeIdleConnections();
    });
  }

  async function allClosed(): Promise<void> {
    for (const peer of [...peers]) {
      if (peers.has(peer)) await new Promise((resolve) => peer.ws.once('close', resolve));
    }
  }

  function close(closeOptions: WsCloseOptions = {}): Promise<void> {
    if (stopping !== undefined) return stopping;
    const graceMs = checkNonNegative('graceMs', closeOptions.graceMs ?? 5000);
    const reason = closeOptions.reason ?? SHUTDOWN_REASON;
    stopping = (async () => {
      const stopped = stopAccepting();
      for (const peer of peers) {
        peer.gone = true;
        peer.ws.close(CloseCode.goingAway, reason);
      }
      if (peers.size > 0) {
        let timer: Timer | undefined;
        const expired = new Promise<void>((resolve) => {
          timer = clock.setTimer(graceMs, resolve);
        });
        await Promise.race([allClosed(), expired]);
        timer?.clear();
        for (const peer of peers) peer.ws.terminate();
        await allClosed();
      }
      await stopped;
      state = 'closed';
    })();
    return stopping;
  }

  function destroy(): Promise<void> {
    if (stopping !== undefined && state === 'closed') return stopping;
    const done = (async () => {
      const stopped = stopAccepting();
      for (const peer of peers) {
        peer.gone = true;
        peer.ws.terminate();
      }
      await allClosed();
      await stopped;
      state = 'closed';
    })();
    stopping ??= done;
    return done;
  }

  return {
    server,
    wss,
    host: bound.address,
    port: bound.port,
    address: `${shownHost}:${bound.port}`,
    url: `ws://${shownHost}:${bound.port}${path}`,
    get connections() {
      return peers.size;
    },
    get state() {
      return state;
    },
    users: (room = DEFAULT_ROOM) => [...(rooms.get(room) ?? [])].map((peer) => peer.nick),
    rooms: () => [...rooms.keys()],
    stats: () => ({ connections: peers.size, rooms: rooms.size, messages, duplicates, rateLimited, slow, timedOut }),
    close,
    destroy,
    [Symbol.asyncDispose]: () => close(),
  };
}

function noop(): void {}

/** An unmasked, final text frame holding `data` (RFC 6455 §5.2), as a server sends it. */
export function textFrame(data: Buffer): Buffer {
  const n = data.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0x81;
  if (n < 126) frame[1] = n;
  else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 2);
    frame.writeUInt32BE(n >>> 0, 6);
  }
  data.copy(frame, head);
  return frame;
}

// A WebSocket client that stays connected: heartbeat, reconnect with backoff, a bounded send
// buffer, at-least-once delivery (seq/ack, see `protocol.ts`), batching, and a bounded receive
// buffer read as an async iterator.
//
// Outgoing messages live in two FIFOs, both ordered by `n` (the order `send()` accepted them):
//
//   outbox   — accepted, not yet written to a socket
//   written  — written; reliable: awaiting the server's cumulative ack; otherwise: handed to `ws`
//              and awaiting its write callback
//
// Invariants: every `n` in `written` is lower than every `n` in `outbox`, so the oldest unsettled
// message is `written.peekFirst() ?? outbox.peekFirst()` and `flush()` is a comparison. On a lost
// connection, reliable mode moves `written` back to the front of `outbox` (resent in order, the
// server drops the duplicates); otherwise the written messages are counted as lost. The buffer
// bound covers `outbox` plus, when reliable, `written`; the socket's own buffer is kept under
// `HIGH_WATER` bytes, so messages wait where the overflow policy can see them.
//
// Every timer (heartbeat, pong deadline, connect deadline, backoff, batch delay) goes through the
// Clock. A connection is an object of its own: callbacks from an old socket find that it is no
// longer `#conn` and do nothing.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { type Backoff, type Jitter, exponentialBackoff } from '../core/backoff.ts';
import { type Clock, type Timer, getClock } from '../core/clock.ts';
import { Deque } from '../core/deque.ts';
import { ClosedError, InvalidArgumentError, QueueFull, TimeoutError } from '../core/errors.ts';
import { onAbort } from '../core/signals.ts';
import { checkInteger, checkNonNegative, checkSignal } from '../core/validate.ts';
import { type Envelope, QueryParam, decode, isAck } from './protocol.ts';

/** Lifecycle of a `WsClient`. `closing`: `close()` is flushing (it still reconnects to finish). */
export type WsClientState = 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed';

/** What `send()` does when the send buffer is full. */
export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest';

/** What happens when the receive buffer is full. `pause` stops reading the socket (backpressure). */
export type ReceiveOverflowPolicy = 'pause' | 'drop-oldest' | 'drop-newest';

/** How a `WsClient` reconnects after a drop. */
export interface ReconnectOptions {
  /** Ceiling of the first delay, in ms. @default 500 */
  base?: number | undefined;
  /** No delay is longer than this, in ms. @default 30_000 */
  max?: number | undefined;
  /** Growth of the ceiling per attempt. @default 2 */
  factor?: number | undefined;
  /** @default 'full' */
  jitter?: Jitter | undefined;
  /** Consecutive failed attempts after which the client gives up and closes. @default Infinity */
  maxAttempts?: number | undefined;
  /** Numbers in [0, 1) for the jitter; inject one for predictable delays. @default Math.random */
  random?: (() => number) | undefined;
}

/** How a `WsClient` batches envelopes into one frame (its `batch` option). */
export interface BatchOptions {
  /** Most envelopes in one frame. @default 100 */
  maxMessages?: number | undefined;
  /** Longest an envelope waits for others to share its frame, in ms. @default 5 */
  maxDelayMs?: number | undefined;
}

/** Options of `WsClient`: reconnects, heartbeat, buffering and reliable delivery. */
export interface WsClientOptions {
  /** Subprotocols offered in the handshake. */
  protocols?: string | string[] | undefined;
  /** Extra handshake headers. */
  headers?: Record<string, string> | undefined;
  /** Ping interval in ms; 0 turns the heartbeat off. @default 15_000 */
  heartbeatMs?: number | undefined;
  /** A pong must arrive this long after a ping, or the connection is dropped and re-made. @default 10_000 */
  pongTimeoutMs?: number | undefined;
  /** Deadline for the opening handshake, in ms. @default 10_000 */
  connectTimeoutMs?: number | undefined;
  /** Reconnect policy, or `false` to close for good when a connection is lost. */
  reconnect?: ReconnectOptions | false | undefined;
  /** Most messages held for sending (unwritten, plus unacknowledged when reliable). @default 1000 */
  bufferLimit?: number | undefined;
  /** Most bytes held for sending, counted like `bufferLimit`. @default Infinity */
  bufferBytes?: number | undefined;
  /** @default 'reject' (send throws QueueFull) */
  overflow?: OverflowPolicy | undefined;
  /** Most received messages waiting for the iterator. @default 1000 */
  receiveLimit?: number | undefined;
  /** @default 'pause' */
  receiveOverflow?: ReceiveOverflowPolicy | undefined;
  /**
   * At-least-once delivery across reconnects: envelopes carry `seq`, the server acks, unacked ones
   * are resent in order after a reconnect. @default false
   */
  reliable?: boolean | undefined;
  /** Sent as `?client=<id>` (always when reliable). @default a random UUID, kept across reconnects */
  clientId?: string | undefined;
  /** Coalesce envelopes into one frame (a JSON array, as `protocol.ts` allows), or `false`. @default false */
  batch?: BatchOptions | false | undefined;
  /** Decode text frames as envelopes (needed for `reliable`); `false` yields every frame raw. @default true */
  decode?: boolean | undefined;
  /**
   * Drop an incoming envelope whose `seq` is ≤ the last seen from the same sender (`from`, or the
   * server). Only for servers that number their messages and keep the numbers across restarts.
   * @default false
   */
  dedupe?: boolean | undefined;
  /** Negotiate permessage-deflate. @default false */
  perMessageDeflate?: boolean | undefined;
  /** @default the default clock */
  clock?: Clock | undefined;
}

/** One received message. */
export interface WsMessage {
  /** The envelope's `type`; `undefined` when the frame was not an envelope (or `decode: false`). */
  readonly type: string | undefined;
  /** The envelope's payload; the frame's text (or bytes, for binary frames) when not an envelope. */
  readonly payload: unknown;
  /** The whole envelope (`timestamp`, `seq`, `from`, …) when it was one. */
  readonly envelope: Envelope | undefined;
}

/** What `WsClient.stats()` returns. */
export interface WsClientStats {
  readonly state: WsClientState;
  /** Messages written to a socket (resends included). */
  readonly sent: number;
  /** Messages delivered to the receive buffer. */
  readonly received: number;
  /** Connections re-established after the first. */
  readonly reconnects: number;
  /** Messages held for sending (unwritten + unacknowledged). */
  readonly buffered: number;
  readonly bufferedBytes: number;
  /** Written and not yet acknowledged (reliable mode). */
  readonly unacked: number;
  /** Outgoing messages dropped by the overflow policy. */
  readonly dropped: number;
  /** Written without reliability when a connection was lost, so maybe never delivered. */
  readonly lost: number;
  /** Incoming messages dropped by `receiveOverflow`. */
  readonly droppedIncoming: number;
  /** Incoming duplicates dropped by `dedupe`. */
  readonly duplicates: number;
}

/**
 * Events of a `WsClient` (a Node EventEmitter). `error` is emitted only when it has listeners,
 * since the client recovers on its own. Note that `events.once(client, name)` listens for `error`
 * too and rejects on the first failed connection attempt.
 */
export type WsClientEvents = {
  /** A connection opened; `reconnect` is false for the first one. */
  open: [info: { reconnect: boolean }];
  /** A connection was lost or an attempt failed; the next attempt starts after `delay` ms. */
  reconnecting: [info: { attempt: number; delay: number; code: number | undefined; error: Error | undefined }];
  /** The client closed for good (`close()`, `destroy()`, or reconnecting gave up with `error`). */
  close: [info: { code: number | undefined; reason: string; error: Error | undefined }];
  /** A connection failed, a pong was late, or a socket erred. The client recovers on its own. */
  error: [error: Error];
};

interface Outgoing {
  readonly n: number;
  readonly seq: number;
  readonly data: string | Uint8Array;
  readonly bytes: number;
  /** An envelope's JSON text, which may share a batch frame. */
  readonly json: boolean;
  /** Last message of its frame (a write callback settles up to here). */
  frameEnd: boolean;
}

interface Connection {
  readonly ws: WebSocket;
  opened: boolean;
  closeCode: number | undefined;
  error: Error | undefined;
  connectTimer: Timer | undefined;
  heartbeat: Timer | undefined;
  pong: Timer | undefined;
  onWritten: (error?: Error | null) => void;
}

interface FlushWaiter {
  readonly target: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  dead: boolean;
}

interface ReceiveWaiter {
  readonly resolve: (result: IteratorResult<WsMessage>) => void;
  readonly reject: (error: unknown) => void;
  dead: boolean;
}

// The socket's buffer is kept under this; above it, messages wait in the outbox.
const HIGH_WATER = 64 * 1024;

/**
 * A resilient WebSocket client. Connects at construction and reconnects with exponential backoff
 * and full jitter until closed; `send()` never waits (messages buffer while disconnected, bounded
 * by `bufferLimit` / `bufferBytes` under `overflow`); iterate the client for incoming messages.
 *
 * @example
 * await using client = new WsClient('ws://127.0.0.1:8080/chat', { reliable: true });
 * await client.open();
 * client.send('message', { text: 'hello' });
 * await client.flush(); // acknowledged by the server
 * for await (const msg of client) console.log(msg.type, msg.payload);
 */
export class WsClient extends EventEmitter<WsClientEvents> {
  readonly url: string;
  /** Sent as `?client=`; kept across reconnects. */
  readonly clientId: string;

  #target: string;
  #protocols: string | string[] | undefined;
  #headers: Record<string, string> | undefined;
  #heartbeatMs: number;
  #pongTimeoutMs: number;
  #connectTimeoutMs: number;
  #reconnect: boolean;
  #backoff: Backoff;
  #maxAttempts: number;
  #bufferLimit: number;
  #bufferBytes: number;
  #overflow: OverflowPolicy;
  #receiveLimit: number;
  #receiveOverflow: ReceiveOverflowPolicy;
  #reliable: boolean;
  #batchMax: number;
  #batchDelay: number;
  #decode: boolean;
  #dedupe: boolean;
  #deflate: boolean;
  #clock: Clock;

  #state: WsClientState = 'connecting';
  #conn: Connection | undefined;
  #everOpened = false;
  #attempt = 0;
  #reconnectTimer: Timer | undefined;
  #batchTimer: Timer | undefined;
  #closeCode: number | undefined;
  #closeReason = '';
  #closingSocket: (() => void) | undefined;
  #closePromise: Promise<void> | undefined;

  #outbox = new Deque<Outgoing>();
  #written = new Deque<Outgoing>();
  #heldBytes = 0;
  #nextN = 0;
  #seq = 0;
  #flushWaiters = new Deque<FlushWaiter>();
  #openWaiters = new Set<FlushWaiter>();

  #received = new Deque<WsMessage>();
  #receiveWaiters = new Deque<ReceiveWaiter>();
  #paused = false;
  #lastSeen = new Map<string, number>();

  #sent = 0;
  #receivedCount = 0;
  #reconnects = 0;
  #dropped = 0;
  #lost = 0;
  #droppedIncoming = 0;
  #duplicates = 0;

  constructor(url: string | URL, options: WsClientOptions = {}) {
    super();
    const {
      protocols, headers, heartbeatMs = 15_000, pongTimeoutMs = 10_000, connectTimeoutMs = 10_000,
      reconnect = {}, bufferLimit = 1000, bufferBytes = Infinity, overflow = 'reject',
      receiveLimit = 1000, receiveOverflow = 'pause', reliable = false, clientId, batch = false,
      decode: decodeFrames = true, dedupe = false, perMessageDeflate = false, clock = getClock(),
    } = options;
    const parsed = new URL(url);
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new InvalidArgumentError(`Expected \`url\` to be a ws: or wss: URL, got ${JSON.stringify(String(url))}`);
    }
    this.#heartbeatMs = checkNonNegative('heartbeatMs', heartbeatMs, true);
    this.#pongTimeoutMs = checkNonNegative('pongTimeoutMs', pongTimeoutMs);
    this.#connectTimeoutMs = checkNonNegative('connectTimeoutMs', connectTimeoutMs, true);
    this.#bufferLimit = checkInteger('bufferLimit', bufferLimit, 1, true);
    this.#bufferBytes = checkNonNegative('bufferBytes', bufferBytes, true);
    this.#receiveLimit = checkInteger('receiveLimit', receiveLimit, 1, true);
    this.#overflow = checkChoice('overflow', overflow, ['reject', 'drop-oldest', 'drop-newest']);
    this.#receiveOverflow = checkChoice('receiveOverflow', receiveOverflow, ['pause', 'drop-oldest', 'drop-newest']);
    if (reliable && !decodeFrames) throw new InvalidArgumentError('`reliable` needs `decode` (acks arrive as envelopes)');
    if (reconnect === false) {
      this.#reconnect = false;
      this.#backoff = () => 0;
      this.#maxAttempts = 0;
    } else {
      const { base = 500, max = 30_000, factor = 2, jitter = 'full', maxAttempts = Infinity, random } = reconnect;
      this.#reconnect = true;
      this.#backoff = exponentialBackoff({ base, max, factor, jitter, random });
      this.#maxAttempts = checkInteger('reconnect.maxAttempts', maxAttempts, 0, true);
    }
    if (batch === false) {
      this.#batchMax = 1;
      this.#batchDelay = 0;
    } else {
      this.#batchMax = checkInteger('batch.maxMessages', batch.maxMessages ?? 100, 1);
      this.#batchDelay = checkNonNegative('batch.maxDelayMs', batch.maxDelayMs ?? 5);
    }
    this.#protocols = protocols;
    this.#headers = headers;
    this.#reliable = reliable;
    this.#decode = decodeFrames;
    this.#dedupe = dedupe;
    this.#deflate = perMessageDeflate;
    this.#clock = clock;
    this.url = parsed.href;
    this.clientId = clientId ?? randomUUID();
    if (reliable || clientId !== undefined) parsed.searchParams.set(QueryParam.client, this.clientId);
    this.#target = parsed.href;
    this.#connect();
  }

  get state(): WsClientState {
    return this.#state;
  }

  /** Waits until a connection is open (at once if one is). Rejects with ClosedError once closed. */
  open(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const { signal } = options;
    checkSignal(signal);
    if (this.#state === 'open' || (this.#state === 'closing' && this.#conn?.opened === true)) return Promise.resolve();
    if (this.#state === 'closed' || this.#state === 'closing') return Promise.reject(new ClosedError('WebSocket client is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: FlushWaiter = {
        target: 0,
        dead: false,
        resolve: () => {
          unlink();
          resolve();
        },
        reject: (error) => {
          unlink();
          reject(error);
        },
      };
      const unlink = onAbort(signal, (reason) => {
        this.#openWaiters.delete(waiter);
        reject(reason);
      });
      this.#openWaiters.add(waiter);
    });
  }

  /**
   * Queues an envelope `{ type, payload, timestamp }` (plus `seq` when reliable) and returns at
   * once. Returns false if the `drop-newest` policy dropped it; throws QueueFull under `reject`
   * when the buffer is full, ClosedError after `close()` / `destroy()`.
   */
  send(type: string, payload?: unknown): boolean {
    this.#checkSendable();
    const seq = this.#reliable ? this.#seq + 1 : 0;
    const data = JSON.stringify(seq === 0 ? { type, payload, timestamp: Date.now() } : { type, payload, timestamp: Date.now(), seq });
    const bytes = Buffer.byteLength(data);
    if (!this.#admit(bytes)) return false;
    if (seq !== 0) this.#seq = seq;
    return this.#enqueue(data, bytes, seq, true);
  }

  /** Queues one raw text or binary frame (not an envelope). Not available when `reliable`. */
  sendRaw(data: string | Uint8Array): boolean {
    this.#checkSendable();
    if (this.#reliable) throw new InvalidArgumentError('`sendRaw()` cannot be acknowledged; use `send()` on a reliable client');
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (!this.#admit(bytes)) return false;
    return this.#enqueue(data, bytes, 0, false);
  }

  /**
   * Waits until every message sent before the call is acknowledged (reliable) or written to the
   * socket. Rejects with ClosedError if the client closes first.
   */
  flush(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const { signal } = options;
    checkSignal(signal);
    if (this.#state === 'closed') return Promise.reject(new ClosedError('WebSocket client is closed'));
    return this.#waitSettled(this.#nextN, signal);
  }

  /**
   * Graceful close: stops accepting sends, flushes (reconnecting if it must), then closes the
   * connection with `code` and stops reconnecting. If `signal` aborts first, destroys the client
   * and rejects with the reason. Idempotent.
   */
  close(code = 1000, reason = '', options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    const { signal } = options;
    checkSignal(signal);
    if (this.#closePromise !== undefined) return this.#closePromise;
    if (this.#state === 'closed') return Promise.resolve();
    this.#state = 'closing';
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#closePromise = this.#closeGracefully(code, reason, signal);
    return this.#closePromise;
  }

  /** Closes now: the socket is terminated, unsent messages are dropped, waiters reject. Idempotent. */
  destroy(reason?: unknown): void {
    if (this.#state === 'closed') return;
    const error = new ClosedError('WebSocket client was destroyed', reason === undefined ? undefined : { cause: reason });
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) {
      this.#clearConnTimers(conn);
      conn.ws.terminate();
    }
    this.#finish(undefined, error, 'destroyed', reason instanceof Error ? reason : undefined);
  }

  /** Same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Incoming messages in arrival order. Ending the loop early leaves the client open. */
  messages(options: { signal?: AbortSignal | undefined } = {}): AsyncIterableIterator<WsMessage> {
    const { signal } = options;
    checkSignal(signal);
    const iterator: AsyncIterableIterator<WsMessage> = {
      next: () => this.#next(signal),
      return: () => Promise.resolve({ done: true, value: undefined }),
      /** The incoming messages, until the client closes. */
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** The incoming messages, until the client closes. */
  [Symbol.asyncIterator](): AsyncIterableIterator<WsMessage> {
    return this.messages();
  }

  /** A snapshot of the client's counters. */
  stats(): WsClientStats {
    return {
      state: this.#state,
      sent: this.#sent,
      received: this.#receivedCount,
      reconnects: this.#reconnects,
      buffered: this.#outbox.length + (this.#reliable ? this.#written.length : 0),
      bufferedBytes: this.#heldBytes,
      unacked: this.#reliable ? this.#written.length : 0,
      dropped: this.#dropped,
      lost: this.#lost,
      droppedIncoming: this.#droppedIncoming,
      duplicates: this.#duplicates,
    };
  }

  // --- connection lifecycle -------------------------------------------------------------------

  #connect(): void {
    this.#reconnectTimer = undefined;
    const ws = new WebSocket(this.#target, this.#protocols, {
      headers: this.#headers,
      perMessageDeflate: this.#deflate,
    });
    const conn: Connection = {
      ws,
      opened: false,
      closeCode: undefined,
      error: undefined,
      connectTimer: undefined,
      heartbeat: undefined,
      pong: undefined,
      onWritten: (error) => this.#onWritten(conn, error),
    };
    this.#conn = conn;
    if (this.#connectTimeoutMs !== Infinity) {
      conn.connectTimer = this.#clock.setTimer(this.#connectTimeoutMs, () => {
        conn.connectTimer = undefined;
        conn.error = new TimeoutError(`WebSocket handshake took longer than ${this.#connectTimeoutMs} ms`);
        ws.terminate();
      });
    }
    ws.on('open', () => this.#onOpen(conn));
    ws.on('message', (data, isBinary) => {
      if (conn === this.#conn) this.#onMessage(data, isBinary);
    });
    ws.on('pong', () => this.#onPong(conn));
    ws.on('error', (error) => {
      conn.error ??= error;
      if (conn === this.#conn) this.#emitError(error);
    });
    ws.on('close', (code) => {
      conn.closeCode = code;
      this.#onClose(conn);
    });
  }

  #onOpen(conn: Connection): void {
    if (conn !== this.#conn) return;
    conn.connectTimer?.clear();
    conn.connectTimer = undefined;
    conn.opened = true;
    this.#attempt = 0;
    const reconnect = this.#everOpened;
    if (reconnect) this.#reconnects++;
    this.#everOpened = true;
    if (this.#state !== 'closing') this.#state = 'open';
    if (this.#paused) conn.ws.pause();
    this.#armHeartbeat(conn);
    for (const waiter of this.#openWaiters) waiter.resolve();
    this.#openWaiters.clear();
    this.#pump(true);
    this.emit('open', { reconnect });
  }

  #onClose(conn: Connection): void {
    if (conn !== this.#conn) return;
    this.#conn = undefined;
    this.#clearConnTimers(conn);
    this.#cancelBatchTimer();
    this.#requeue();
    if (this.#closingSocket !== undefined) {
      this.#closingSocket();
      return;
    }
    const error = conn.error ?? (conn.opened ? undefined : new Error('WebSocket connection closed before it opened'));
    if (!this.#reconnect || this.#attempt >= this.#maxAttempts) {
      const cause = error ?? new Error(`WebSocket connection closed with code ${conn.closeCode}`);
      this.#finish(conn.closeCode, new ClosedError('WebSocket connection lost and not reconnecting', { cause }), 'gave up', cause);
      return;
    }
    const delay = this.#backoff(this.#attempt);
    this.#attempt++;
    if (this.#state !== 'closing') this.#state = 'reconnecting';
    this.#reconnectTimer = this.#clock.setTimer(delay, () => this.#connect());
    this.emit('reconnecting', { attempt: this.#attempt, delay, code: conn.opened ? conn.closeCode : undefined, error });
  }

  /** Reliable: written messages go back to the front of the outbox. Otherwise they are lost. */
  #requeue(): void {
    if (this.#reliable) {
      for (let item = this.#written.pop(); item !== undefined; item = this.#written.pop()) {
        item.frameEnd = false;
        this.#outbox.unshift(item);
      }
      return;
    }
    this.#lost += this.#written.length;
    this.#written.clear();
    this.#checkFlushWaiters();
  }

  async #closeGracefully(code: number, reason: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.#waitSettled(this.#nextN, signal);
    } catch (error) {
      this.destroy(error);
      throw error;
    }
    if (this.#state === 'closed') return;
    this.#reconnectTimer?.clear();
    this.#reconnectTimer = undefined;
    const conn = this.#conn;
    if (conn !== undefined) {
      await new Promise<void>((resolve) => {
        this.#closingSocket = resolve;
        if (conn.opened) conn.ws.close(code, reason);
        else conn.ws.terminate();
      });
    }
    // The code the connection really ended with: 1006 says the server never answered the close,
    // so it may not have read what was written before it.
    this.#finish(conn?.closeCode ?? code, undefined, reason, undefined);
  }

  /** The one way to `closed`: timers cleared, waiters settled, iterator ended, `close` emitted. */
  #finish(code: number | undefined, error: ClosedError | undefined, reason: string, cause: Error | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#reconnectTimer?.clear();
    this.#reconnectTimer = undefined;
    this.#cancelBatchTimer();
    const closing = this.#closingSocket;
    this.#closingSocket = undefined;
    closing?.();
    const failure = error ?? new ClosedError('WebSocket client is closed');
    for (const waiter of this.#openWaiters) waiter.reject(failure);
    this.#openWaiters.clear();
    if (error !== undefined) {
      this.#dropped += this.#outbox.length + (this.#reliable ? this.#written.length : 0);
      this.#outbox.clear();
      this.#written.clear();
      this.#heldBytes = 0;
    }
    for (let w = this.#flushWaiters.shift(); w !== undefined; w = this.#flushWaiters.shift()) {
      if (!w.dead) w.reject(failure);
    }
    for (let w = this.#receiveWaiters.shift(); w !== undefined; w = this.#receiveWaiters.shift()) {
      if (!w.dead) w.resolve({ done: true, value: undefined });
    }
    this.emit('close', { code: code ?? this.#closeCode, reason: reason || this.#closeReason, error: cause });
  }

  #clearConnTimers(conn: Connection): void {
    conn.connectTimer?.clear();
    conn.heartbeat?.clear();
    conn.pong?.clear();
    conn.connectTimer = conn.heartbeat = conn.pong = undefined;
  }

  // --- heartbeat ------------------------------------------------------------------------------

  #armHeartbeat(conn: Connection): void {
    if (this.#heartbeatMs === 0 || this.#heartbeatMs === Infinity) return;
    conn.heartbeat = this.#clock.setTimer(this.#heartbeatMs, () => this.#beat(conn));
  }

  #beat(conn: Connection): void {
    conn.heartbeat = undefined;
    if (conn !== this.#conn) return;
    // A paused socket reads no pongs; its liveness is the reader's business until it resumes.
    if (this.#paused || conn.ws.readyState !== WebSocket.OPEN) {
      this.#armHeartbeat(conn);
      return;
    }
    conn.ws.ping();
    conn.pong = this.#clock.setTimer(this.#pongTimeoutMs, () => {
      conn.pong = undefined;
      if (conn !== this.#conn) return;
      conn.error = new TimeoutError(`No pong within ${this.#pongTimeoutMs} ms`);
      this.#emitError(conn.error);
      conn.ws.terminate();
    });
  }

  #onPong(conn: Connection): void {
    if (conn !== this.#conn || conn.pong === undefined) return;
    conn.pong.clear();
    conn.pong = undefined;
    this.#armHeartbeat(conn);
  }

  // --- sending --------------------------------------------------------------------------------

  #checkSendable(): void {
    if (this.#state === 'closing' || this.#state === 'closed') throw new ClosedError('WebSocket client is closed');
  }

  /** Makes room for a message of `bytes` under the overflow policy; false when it must be dropped. */
  #admit(bytes: number): boolean {
    const fits = () => this.#held() < this.#bufferLimit && this.#heldBytes + bytes <= this.#bufferBytes;
    if (fits()) return true;
    if (this.#overflow === 'reject') throw new QueueFull(`WebSocket send buffer is full (${this.#held()} messages, ${this.#heldBytes} bytes)`);
    if (this.#overflow === 'drop-newest' || bytes > this.#bufferBytes) {
      this.#dropped++;
      return false;
    }
    while (!fits()) {
      // The oldest unwritten goes first; when reliable and everything is awaiting its ack, the
      // oldest unacknowledged one is given up.
      const victim = this.#outbox.shift() ?? (this.#reliable ? this.#written.shift() : undefined);
      if (victim === undefined) break;
      this.#heldBytes -= victim.bytes;
      this.#dropped++;
    }
    this.#checkFlushWaiters();
    return true;
  }

  #held(): number {
    return this.#outbox.length + (this.#reliable ? this.#written.length : 0);
  }

  #enqueue(data: string | Uint8Array, bytes: number, seq: number, json: boolean): boolean {
    this.#outbox.push({ n: ++this.#nextN, seq, data, bytes, json, frameEnd: false });
    this.#heldBytes += bytes;
    this.#pump(false);
    return true;
  }

  /** Writes from the outbox while the socket is open and under its high-water mark. */
  #pump(now: boolean): void {
    const conn = this.#conn;
    if (conn === undefined || !conn.opened || conn.ws.readyState !== WebSocket.OPEN) return;
    const ws = conn.ws;
    while (this.#outbox.length > 0 && ws.bufferedAmount < HIGH_WATER) {
      const first = this.#outbox.peekFirst()!;
      if (this.#batchMax > 1 && first.json) {
        if (!now && this.#outbox.length < this.#batchMax) {
          this.#armBatchTimer();
          return;
        }
        this.#writeBatch(conn);
        continue;
      }
      this.#outbox.shift();
      this.#write(conn, first, first.data);
    }
    if (this.#outbox.length === 0) this.#cancelBatchTimer();
  }

  #writeBatch(conn: Connection): void {
    const parts: string[] = [];
    let last: Outgoing | undefined;
    while (parts.length < this.#batchMax) {
      const item = this.#outbox.peekFirst();
      if (item === undefined || !item.json) break;
      this.#outbox.shift();
      parts.push(item.data as string);
      this.#pushWritten(item);
      last = item;
    }
    last!.frameEnd = true;
    this.#sent += parts.length;
    conn.ws.send(parts.length === 1 ? parts[0]! : `[${parts.join(',')}]`, conn.onWritten);
  }

  #write(conn: Connection, item: Outgoing, data: string | Uint8Array): void {
    item.frameEnd = true;
    this.#pushWritten(item);
    this.#sent++;
    conn.ws.send(data, { binary: !item.json && typeof data !== 'string' }, conn.onWritten);
  }

  #pushWritten(item: Outgoing): void {
    this.#written.push(item);
    if (!this.#reliable) this.#heldBytes -= item.bytes;
  }

  /** Write callbacks come in order; without reliability a written frame is a settled one. */
  #onWritten(conn: Connection, _error?: Error | null): void {
    if (conn !== this.#conn) return;
    if (!this.#reliable) {
      for (let item = this.#written.shift(); item !== undefined && !item.frameEnd; item = this.#written.shift());
      this.#checkFlushWaiters();
    }
    this.#pump(false);
  }

  #onAck(seq: number): void {
    for (let item = this.#written.peekFirst(); item !== undefined && item.seq <= seq; item = this.#written.peekFirst()) {
      this.#written.shift();
      this.#heldBytes -= item.bytes;
    }
    this.#checkFlushWaiters();
  }

  #armBatchTimer(): void {
    if (this.#batchTimer !== undefined) return;
    this.#batchTimer = this.#clock.setTimer(this.#batchDelay, () => {
      this.#batchTimer = undefined;
      this.#pump(true);
    });
  }

  #cancelBatchTimer(): void {
    this.#batchTimer?.clear();
    this.#batchTimer = undefined;
  }

  // --- flushing -------------------------------------------------------------------------------

  #oldestUnsettled(): number {
    return (this.#written.peekFirst() ?? this.#outbox.peekFirst())?.n ?? Infinity;
  }

  #waitSettled(target: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#oldestUnsettled() > target) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    // A pending batch is written at once: someone is waiting for it.
    this.#pump(true);
    if (this.#oldestUnsettled() > target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: FlushWaiter = {
        target,
        dead: false,
        resolve: () => {
          unlink();
          resolve();
        },
        reject: (error) => {
          unlink();
          reject(error);
        },
      };
      const unlink = onAbort(signal, (reason) => {
        waiter.dead = true;
        reject(reason);
      });
      this.#flushWaiters.push(waiter);
    });
  }

  #checkFlushWaiters(): void {
    const oldest = this.#oldestUnsettled();
    // Waiters are pushed with non-decreasing targets, so the satisfied ones are at the front.
    for (let w = this.#flushWaiters.peekFirst(); w !== undefined && (w.dead || w.target < oldest); w = this.#flushWaiters.peekFirst()) {
      this.#flushWaiters.shift();
      if (!w.dead) w.resolve();
    }
  }

  // --- receiving ------------------------------------------------------------------------------

  #onMessage(data: RawData, isBinary: boolean): void {
    const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) return this.#deliver({ type: undefined, payload: buffer, envelope: undefined });
    const text = buffer.toString('utf8');
    if (!this.#decode) return this.#deliver({ type: undefined, payload: text, envelope: undefined });
    const result = decode(text);
    if (!result.ok) return this.#deliver({ type: undefined, payload: text, envelope: undefined });
    for (const envelope of result.envelopes) {
      if (this.#reliable && isAck(envelope)) {
        this.#onAck(envelope.seq);
        continue;
      }
      if (this.#dedupe && envelope.seq !== undefined) {
        const sender = envelope.from ?? '';
        const last = this.#lastSeen.get(sender) ?? -1;
        if (envelope.seq <= last) {
          this.#duplicates++;
          continue;
        }
        this.#lastSeen.set(sender, envelope.seq);
      }
      this.#deliver({ type: envelope.type, payload: envelope.payload, envelope });
    }
  }

  #deliver(message: WsMessage): void {
    if (this.#received.length >= this.#receiveLimit && this.#receiveOverflow === 'drop-newest') {
      this.#droppedIncoming++;
      return;
    }
    this.#receivedCount++;
    for (let w = this.#receiveWaiters.shift(); w !== undefined; w = this.#receiveWaiters.shift()) {
      if (w.dead) continue;
      w.resolve({ done: false, value: message });
      return;
    }
    if (this.#received.length >= this.#receiveLimit && this.#receiveOverflow === 'drop-oldest') {
      this.#received.shift();
      this.#droppedIncoming++;
    }
    this.#received.push(message);
    if (this.#receiveOverflow === 'pause' && !this.#paused && this.#received.length >= this.#receiveLimit) {
      this.#paused = true;
      const conn = this.#conn;
      if (conn !== undefined) {
        conn.pong?.clear();
        conn.pong = undefined;
        if (conn.heartbeat === undefined) this.#armHeartbeat(conn);
        conn.ws.pause();
      }
    }
  }

  #next(signal: AbortSignal | undefined): Promise<IteratorResult<WsMessage>> {
    const message = this.#received.shift();
    if (message !== undefined) {
      if (this.#paused && this.#received.length <= this.#receiveLimit / 2) {
        this.#paused = false;
        this.#conn?.ws.resume();
      }
      return Promise.resolve({ done: false, value: message });
    }
    if (this.#state === 'closed') return Promise.resolve({ done: true, value: undefined });
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: ReceiveWaiter = {
        dead: false,
        resolve: (result) => {
          unlink();
          resolve(result);
        },
        reject: (error) => {
          unlink();
          reject(error);
        },
      };
      const unlink = onAbort(signal, (reason) => {
        waiter.dead = true;
        reject(reason);
      });
      this.#receiveWaiters.push(waiter);
    });
  }

  #emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

function checkChoice<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) {
    throw new InvalidArgumentError(`Expected \`${name}\` to be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

// A fixed set of `WsClient`s to one URL (the seeds' "connection pool"): sends go round-robin to
// the next open client (to the next one in turn if none is open, where they buffer), and the
// incoming messages of all clients read as one async iterator. Order holds per client, not across
// the pool.
import { Deque } from '../core/deque.ts';
import { ClosedError } from '../core/errors.ts';
import { LinkedController } from '../core/signals.ts';
import { checkInteger, checkSignal } from '../core/validate.ts';
import { type WsClientOptions, type WsClientStats, WsClient, type WsMessage } from './client.ts';

/** Options of `WsPool`. */
export interface WsPoolOptions extends WsClientOptions {
  /** How many connections. @default 4 */
  size?: number | undefined;
}

/** What `WsPool.stats()` returns. */
export interface WsPoolStats {
  readonly size: number;
  /** Clients with an open connection now. */
  readonly open: number;
  readonly sent: number;
  readonly received: number;
  readonly reconnects: number;
  readonly buffered: number;
  readonly unacked: number;
  readonly dropped: number;
  readonly clients: readonly WsClientStats[];
}

type Pending = Promise<{ readonly index: number; readonly result: IteratorResult<WsMessage> }>;

/**
 * N resilient WebSocket clients to the same URL with round-robin `send()`. Each client has its
 * own id, buffer and reconnect schedule (see `WsClient`); options apply to every client.
 *
 * @example
 * await using pool = new WsPool('ws://127.0.0.1:8080/', { size: 4, reliable: true });
 * await pool.open();
 * for (let i = 0; i < 100; i++) pool.send('message', i);
 * await pool.flush();
 */
export class WsPool {
  readonly clients: readonly WsClient[];
  #next = 0;
  #closed = false;
  // Messages a merged iteration took from a client but did not yield before it ended.
  #leftover = new Deque<WsMessage>();

  constructor(url: string | URL, options: WsPoolOptions = {}) {
    const { size = 4, ...clientOptions } = options;
    checkInteger('size', size, 1);
    const clients: WsClient[] = [];
    try {
      for (let i = 0; i < size; i++) clients.push(new WsClient(url, clientOptions));
    } catch (error) {
      for (const client of clients) client.destroy();
      throw error;
    }
    this.clients = clients;
  }

  get size(): number {
    return this.clients.length;
  }

  /** Waits until every client has an open connection. */
  async open(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    checkSignal(options.signal);
    await Promise.all(this.clients.map((client) => client.open(options)));
  }

  /** Sends on the next open client in turn (on the next one if none is open). See `WsClient.send`. */
  send(type: string, payload?: unknown): boolean {
    return this.#pick().send(type, payload);
  }

  /** Raw frame on the next client in turn. See `WsClient.sendRaw`. */
  sendRaw(data: string | Uint8Array): boolean {
    return this.#pick().sendRaw(data);
  }

  /** Waits until every client has flushed what was sent before the call. */
  async flush(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    checkSignal(options.signal);
    await Promise.all(this.clients.map((client) => client.flush(options)));
  }

  /** Closes every client gracefully (each flushes first). Rejects with the first failure. */
  async close(code = 1000, reason = '', options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    this.#closed = true;
    const results = await Promise.allSettled(this.clients.map((client) => client.close(code, reason, options)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Destroys every client now. */
  destroy(reason?: unknown): void {
    this.#closed = true;
    for (const client of this.clients) client.destroy(reason);
  }

  /** Same as `close()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Incoming messages of every client, as they arrive. Ends when every client has closed. */
  async *messages(options: { signal?: AbortSignal | undefined } = {}): AsyncGenerator<WsMessage, void, undefined> {
    checkSignal(options.signal);
    for (let m = this.#leftover.shift(); m !== undefined; m = this.#leftover.shift()) yield m;
    const link = new LinkedController(options.signal);
    const iterators = this.clients.map((client) => client.messages({ signal: link.signal }));
    const pending = new Map<number, Pending>();
    const pull = (index: number) => {
      const next = iterators[index]!.next().then((result) => ({ index, result }));
      // Handled by the race or the cleanup below; this keeps a rejection during a yield quiet.
      next.catch(ignore);
      pending.set(index, next);
    };
    for (let i = 0; i < iterators.length; i++) pull(i);
    try {
      while (pending.size > 0) {
        const { index, result } = await Promise.race(pending.values());
        if (result.done === true) {
          pending.delete(index);
          continue;
        }
        pull(index);
        yield result.value;
      }
      options.signal?.throwIfAborted();
    } finally {
      // Withdraw the outstanding reads; any that already took a message keep it for next time.
      link.abort(new ClosedError('iteration ended'));
      link.unlink();
      for (const p of pending.values()) {
        try {
          const { result } = await p;
          if (result.done !== true) this.#leftover.push(result.value);
        } catch {
          // Withdrawn.
        }
      }
    }
  }

  /** The incoming messages of every connection, until the pool closes. */
  [Symbol.asyncIterator](): AsyncGenerator<WsMessage, void, undefined> {
    return this.messages();
  }

  /** A snapshot of the pool's counters. */
  stats(): WsPoolStats {
    const clients = this.clients.map((client) => client.stats());
    let open = 0;
    let sent = 0;
    let received = 0;
    let reconnects = 0;
    let buffered = 0;
    let unacked = 0;
    let dropped = 0;
    for (const s of clients) {
      if (s.state === 'open') open++;
      sent += s.sent;
      received += s.received;
      reconnects += s.reconnects;
      buffered += s.buffered;
      unacked += s.unacked;
      dropped += s.dropped;
    }
    return { size: this.clients.length, open, sent, received, reconnects, buffered, unacked, dropped, clients };
  }

  #pick(): WsClient {
    if (this.#closed) throw new ClosedError('WebSocket pool is closed');
    const n = this.clients.length;
    for (let i = 0; i < n; i++) {
      const client = this.clients[(this.#next + i) % n]!;
      if (client.state === 'open') {
        this.#next = (this.#next + i + 1) % n;
        return client;
      }
    }
    const client = this.clients[this.#next]!;
    this.#next = (this.#next + 1) % n;
    return client;
  }
}

function ignore(): void {}

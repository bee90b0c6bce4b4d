// A plain `ws` server speaking the ack protocol of src/ws/protocol.ts, for the client and pool
// tests: it records what arrives, drops duplicates by (client id, seq), acks cumulatively, and
// can be killed and restarted on the same port. The de-duplication state outlives a restart, as a
// server's durable store would.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface Received {
  readonly client: string;
  readonly type: string;
  readonly payload: unknown;
  readonly seq: number | undefined;
}

export interface AckServerOptions {
  /** Acknowledge what arrives. */
  ack?: boolean;
  /** Answer pings (ws's autoPong). */
  autoPong?: boolean;
  perMessageDeflate?: boolean;
}

export class AckServer {
  port = 0;
  wss: WebSocketServer | undefined;
  readonly received: Received[] = [];
  /** Text frames as they arrived (a batch is one frame). */
  readonly frames: string[] = [];
  duplicates = 0;
  connections = 0;
  readonly lastSeen = new Map<string, number>();
  /** Client id of each live connection. */
  readonly ids = new Map<WebSocket, string>();
  #options: AckServerOptions = {};
  #waiters: { count: number; resolve: () => void }[] = [];

  static async start(options: AckServerOptions = {}): Promise<AckServer> {
    const server = new AckServer();
    await server.listen(options);
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/`;
  }

  get sockets(): Set<WebSocket> {
    return this.wss?.clients ?? new Set();
  }

  async listen(options: AckServerOptions = this.#options): Promise<void> {
    this.#options = options;
    const wss = new WebSocketServer({ host: '127.0.0.1', port: this.port, autoPong: options.autoPong ?? true, perMessageDeflate: options.perMessageDeflate ?? false });
    this.wss = wss;
    await once(wss, 'listening');
    this.port = (wss.address() as AddressInfo).port;
    wss.on('connection', (ws, request) => {
      this.connections++;
      const client = new URL(request.url ?? '/', 'http://x').searchParams.get('client') ?? '';
      this.ids.set(ws, client);
      ws.on('close', () => this.ids.delete(ws));
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const text = String(data);
        this.frames.push(text);
        const parsed: unknown = JSON.parse(text);
        let top: number | undefined;
        for (const e of (Array.isArray(parsed) ? parsed : [parsed]) as { type: string; payload: unknown; seq?: number }[]) {
          if (e.seq !== undefined) {
            if (e.seq <= (this.lastSeen.get(client) ?? 0)) {
              this.duplicates++;
              top = this.lastSeen.get(client);
              continue;
            }
            this.lastSeen.set(client, e.seq);
            top = e.seq;
          }
          this.received.push({ client, type: e.type, payload: e.payload, seq: e.seq });
        }
        if (top !== undefined && (this.#options.ack ?? true)) ws.send(JSON.stringify({ type: 'ack', seq: top }));
        this.#wake();
      });
    });
  }

  /** The server side of the connection from client `id`. */
  socketOf(id: string): WebSocket | undefined {
    for (const [ws, client] of this.ids) if (client === id) return ws;
    return undefined;
  }

  /** Resolves once at least `count` envelopes have arrived. */
  waitReceived(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** Kills every connection and stops listening (a crash, not a graceful shutdown). */
  async kill(): Promise<void> {
    const wss = this.wss;
    if (wss === undefined) return;
    this.wss = undefined;
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  /** Starts again on the same port. */
  restart(options: AckServerOptions = this.#options): Promise<void> {
    return this.listen(options);
  }

  /** Sends a frame to every connected client. */
  broadcast(text: string): void {
    for (const ws of this.sockets) ws.send(text);
  }

  payloads(): unknown[] {
    return this.received.map((r) => r.payload);
  }

  #wake(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (this.received.length < w.count) return true;
      w.resolve();
      return false;
    });
  }
}

/** Resolves when `predicate` holds, checking once per event-loop turn (a condition, not a sleep). */
export async function until(predicate: () => boolean, turns = 100_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('until(): condition never held');
}

/** A port where nothing listens (bound, then released). */
export async function deadPort(): Promise<number> {
  const server = await AckServer.start();
  const port = server.port;
  await server.kill();
  return port;
}

// Plumbing shared by the TCP servers: binding, the address a server reports, and the two ways to
// stop (drain within a grace period, or now). Each server keeps its own sockets and decides how
// a socket is told to go; this file only sequences the shutdown.
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Clock } from '../core/clock.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { onAbort } from '../core/signals.ts';
import { checkNonNegative } from '../core/validate.ts';

/** Where a server listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port`, with an IPv6 host in brackets. */
  readonly address: string;
}

/** An integer port from 0 (any free port) to 65535. */
export function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`Expected \`port\` to be an integer from 0 to 65535, got ${String(port)}`);
  }
  return port;
}

/** The listen backlog servers use by default: Node's 511 makes a burst of thousands of connects wait for SYN retransmits (the kernel caps it at `net.core.somaxconn`). */
export const DEFAULT_BACKLOG = 4096;

/** Binds `server` and resolves with the address it got (port 0 picks a free port). */
export function listen(server: Server, port: number, host: string, backlog: number): Promise<ListenAddress> {
  checkPort(port);
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ port, host, backlog }, () => {
      server.off('error', onError);
      const info = server.address() as AddressInfo;
      const shown = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({ host: info.address, port: info.port, address: `${shown}:${info.port}` });
    });
  });
}

/**
 * Stops accepting, asks every socket to finish with `farewell(socket)` (which should end it),
 * waits until all have closed or `graceMs` has passed, then destroys what is left.
 */
export async function drain(server: Server, sockets: ReadonlySet<Socket>, farewell: (socket: Socket) => void, graceMs: number, clock: Clock): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of sockets) farewell(socket);
  if (sockets.size > 0) {
    let timer: { clear(): void } | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = clock.setTimer(graceMs, resolve);
    });
    await Promise.race([closed, expired]);
    timer?.clear();
    for (const socket of sockets) socket.destroy();
  }
  await closed;
  await allClosed(sockets);
}

/**
 * Closes `socket` as soon as everything written to it has been flushed (its 'finish'), instead of
 * waiting for the peer to close its side: on shutdown an idle client that keeps its socket open
 * does not hold the server for the whole grace period.
 */
export function closeWhenFlushed(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

/** Stops accepting and destroys every socket now. */
export async function destroyAll(server: Server, sockets: ReadonlySet<Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const socket of sockets) socket.destroy();
  await closed;
  await allClosed(sockets);
}

// The server's close callback can run before the sockets' own 'close' listeners have.
async function allClosed(sockets: ReadonlySet<Socket>): Promise<void> {
  for (const socket of [...sockets]) {
    if (sockets.has(socket)) await new Promise((resolve) => socket.once('close', resolve));
  }
}

/** Where a server is in its life. */
export type ServerState = 'listening' | 'closing' | 'closed';

/** Options of a server's `close()`. */
export interface CloseOptions {
  /** How long connections get to flush and close before they are destroyed. @default 5000 */
  graceMs?: number | undefined;
}

/**
 * The two ways a TCP server stops, with the state they move it through: `close()` drains within
 * a grace period, `destroy()` stops now; both are idempotent, in either order, and `signal`
 * aborting means `close()`.
 */
export class Stopper {
  state: ServerState = 'listening';
  readonly #server: Server;
  readonly #sockets: ReadonlySet<Socket>;
  readonly #farewell: (socket: Socket) => void;
  readonly #clock: Clock;
  readonly #unlink: () => void;
  #stopping: Promise<void> | undefined;

  constructor(server: Server, sockets: ReadonlySet<Socket>, farewell: (socket: Socket) => void, clock: Clock, signal: AbortSignal | undefined) {
    this.#server = server;
    this.#sockets = sockets;
    this.#farewell = farewell;
    this.#clock = clock;
    this.#unlink = onAbort(signal, () => void this.close());
  }

  close(options: CloseOptions = {}): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    const graceMs = checkNonNegative('graceMs', options.graceMs ?? 5000);
    this.state = 'closing';
    this.#unlink();
    this.#stopping = drain(this.#server, this.#sockets, this.#farewell, graceMs, this.#clock).then(() => {
      this.state = 'closed';
    });
    return this.#stopping;
  }

  destroy(): Promise<void> {
    if (this.#stopping !== undefined && this.state === 'closed') return this.#stopping;
    this.state = 'closing';
    this.#unlink();
    const done = destroyAll(this.#server, this.#sockets).then(() => {
      this.state = 'closed';
    });
    this.#stopping ??= done;
    return done;
  }
}

/** What every TCP server hands back: where it listens, its connections and state, and how to stop it. */
export interface ServerHandle extends AsyncDisposable {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly url: string;
  readonly connections: number;
  readonly state: ServerState;
  close(options?: CloseOptions): Promise<void>;
  destroy(): Promise<void>;
}

/** The common part of a server's handle; the server adds its own fields with `Object.assign`. */
export function serverHandle(server: Server, bound: ListenAddress, sockets: ReadonlySet<Socket>, stopper: Stopper): ServerHandle {
  return {
    server,
    host: bound.host,
    port: bound.port,
    address: bound.address,
    url: `tcp://${bound.address}`,
    get connections() {
      return sockets.size;
    },
    get state() {
      return stopper.state;
    },
    close: (options?: CloseOptions) => stopper.close(options),
    destroy: () => stopper.destroy(),
    [Symbol.asyncDispose]: () => stopper.close(),
  };
}

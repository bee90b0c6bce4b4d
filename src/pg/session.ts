// One database session under a pooled connection: a node-postgres Client for a real server, or
// the in-process PGlite (embedded.ts). The pool and the query helpers above see only this shape.
//
// Why our own cancel: node-postgres's `query_timeout` only stops the client waiting — the
// statement runs on — and `client.cancel` does not work with the JS client. A CancelRequest is a
// 16-byte packet on a fresh socket to the same server (protocol 3.0, "Canceling Requests in
// Progress"); the server closes that socket once it has signalled the backend, so its `close`
// tells us the cancel was delivered.
//
// Why our own connect timeout: a pool whose connect timeout fires can leak the late connection
// (node-postgres #3543). Here the socket is destroyed when the deadline passes, and a connect
// that still completes afterwards is ended at once.
import { connect as netConnect } from 'node:net';
import pg from 'pg';
import { PgConnectionError, toPgError } from './errors.ts';

/** A row as an object of column name to value. */
export type Row = Record<string, unknown>;

/** What a statement returns. */
export interface QueryResult<R = Row> {
  rows: R[];
  /** Rows returned or affected; `null` when the command reports none. */
  rowCount: number | null;
}

/** Transaction status from the last ReadyForQuery: idle, in a transaction, in a failed one. */
export type TxStatus = 'I' | 'T' | 'E';

export interface Session {
  /** When the session was opened (ms, performance.now()). */
  readonly createdAt: number;
  /** Set once the session broke; it is destroyed instead of reused. */
  readonly broken: boolean;
  readonly txStatus: TxStatus;
  /** Whether `cancel()` stops a running statement. */
  readonly cancellable: boolean;
  exec(text: string, values?: readonly unknown[]): Promise<QueryResult>;
  /** Asks the server to stop the running statement; resolves once the request was delivered. */
  cancel(): Promise<void>;
  /** Ends the session politely. Idempotent. */
  close(): Promise<void>;
  /** Ends the session now (the running statement rejects). */
  destroy(): void;
}

/** How to reach the server: node-postgres's client config (a `connectionString` or host, port, …). */
export type ServerConfig = pg.ClientConfig;

class ServerSession implements Session {
  readonly createdAt = performance.now();
  #broken = false;
  #ended = false;
  txStatus: TxStatus = 'I';
  readonly cancellable = true;
  readonly #client: pg.Client;
  #closing: Promise<void> | undefined;

  constructor(client: pg.Client) {
    this.#client = client;
    client.on('error', () => {
      this.#broken = true;
    });
    client.on('end', () => {
      this.#broken = true;
      this.#ended = true;
    });
    const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
    connection.on('readyForQuery', (msg: { status: string }) => {
      this.txStatus = msg.status as TxStatus;
    });
  }

  get broken(): boolean {
    return this.#broken || (this.#client as unknown as { _queryable: boolean })._queryable === false;
  }

  exec(text: string, values?: readonly unknown[]): Promise<QueryResult> {
    // The callback form: the promise form wraps its own promise in a second one (for a stack trace
    // that we replace anyway), and this one would be a third.
    return new Promise<QueryResult>((resolve, reject) => {
      this.#client.query(text, values as unknown[], (error: Error | null, result: QueryResult) => {
        if (error === null || error === undefined) resolve(result);
        else reject(this.#failed(error));
      });
    });
  }

  #failed(error: unknown): Error {
    // A FATAL from the server (terminated, shutting down) ends the session before 'end' arrives.
    const severity = (error as { severity?: unknown }).severity;
    const mapped = toPgError(error);
    if (mapped instanceof PgConnectionError || severity === 'FATAL' || severity === 'PANIC') this.#broken = true;
    return mapped;
  }

  cancel(): Promise<void> {
    const client = this.#client as unknown as { processID: number | null; secretKey: number | null; host: string; port: number };
    if (client.processID === null || client.secretKey === null) return Promise.resolve();
    const { processID, secretKey, host, port } = client;
    return new Promise<void>((resolve) => {
      const socket = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host);
      socket.setTimeout(5000, () => socket.destroy());
      socket.on('error', () => socket.destroy());
      socket.on('close', () => resolve());
      socket.on('connect', () => {
        const packet = Buffer.alloc(16);
        packet.writeInt32BE(16, 0);
        packet.writeInt32BE(80877102, 4);
        packet.writeInt32BE(processID, 8);
        packet.writeInt32BE(secretKey, 12);
        socket.end(packet);
      });
    });
  }

  close(): Promise<void> {
    this.#broken = true;
    if (this.#ended) return Promise.resolve();
    // end() never settles on a socket that is already gone, so it gets a deadline.
    this.#closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#streamDestroy();
        resolve();
      }, 2000);
      timer.unref();
      this.#client.end().then(
        () => (clearTimeout(timer), resolve()),
        () => (clearTimeout(timer), resolve()),
      );
    });
    return this.#closing;
  }

  #streamDestroy(): void {
    const stream = (this.#client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    stream?.destroy();
  }

  destroy(): void {
    this.#broken = true;
    this.#streamDestroy();
    void this.close();
  }
}

/**
 * Opens a session on a PostgreSQL server within `timeout` ms. On the deadline (or `signal`) the
 * socket is destroyed; a connect that completes later anyway is ended, never leaked.
 */
export async function connectServer(config: ServerConfig, timeout: number, signal: AbortSignal): Promise<Session> {
  const client = new pg.Client(config);
  // An 'error' emitted before we attach ours (a reset while connecting) must not crash the process.
  client.on('error', () => undefined);
  let late = false;
  const connected = client.connect();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    const fail = (error: Error) => {
      late = true;
      const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
      stream?.destroy();
      reject(error);
    };
    if (timeout !== Infinity) timer = setTimeout(() => fail(new PgConnectionError(`Connecting to the database timed out after ${timeout} ms`)), timeout);
    onAbort = () => fail(new PgConnectionError('Connecting to the database was aborted', { cause: signal.reason }));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  connected.then(
    () => {
      if (late) void client.end().catch(() => undefined);
    },
    () => undefined,
  );
  try {
    await Promise.race([connected, deadline]);
  } catch (error) {
    late = true;
    void client.end().catch(() => undefined);
    if (error instanceof PgConnectionError) throw error;
    throw new PgConnectionError(`Could not connect to the database: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort!);
  }
  return new ServerSession(client);
}

// A dispatcher that keeps each origin's connections in shards of a few dozen, each an undici
// Pool. undici's Pool finds a free connection by scanning all of them, which is quadratic when
// thousands of requests start at once (10,000 requests on 10,000 connections spent over a second
// of CPU in that scan alone); here a request goes to a shard with room, found from a cursor that
// only moves on when its shard is full, and a shard scans at most `shardSize` connections.
//
// In-flight counts per shard are kept by wrapping the handler, so a shard is "full" as soon as it
// has `shardSize` requests dispatched, without waiting for undici to notice its connections busy.
import { Dispatcher, Pool } from 'undici';

export interface ShardedAgentOptions extends Pool.Options {
  /** Connections per origin, over all shards. */
  connections: number;
  /** Connections per shard. @default 256 */
  shardSize?: number | undefined;
}

interface Origin {
  pools: Pool[];
  inFlight: number[];
  cursor: number;
  rr: number;
}

type Handler = Dispatcher.DispatchHandler;

export class ShardedAgent extends Dispatcher {
  readonly #options: Pool.Options;
  readonly #connections: number;
  readonly #shardSize: number;
  readonly #origins = new Map<string, Origin>();
  #closed = false;

  constructor(options: ShardedAgentOptions) {
    super();
    const { connections, shardSize = 256, ...rest } = options;
    this.#connections = connections;
    this.#shardSize = Math.max(1, Math.min(shardSize, connections));
    this.#options = rest;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Handler): boolean {
    if (this.#closed) throw new Error('the dispatcher is closed');
    const key = String(options.origin);
    let origin = this.#origins.get(key);
    if (origin === undefined) {
      origin = { pools: [], inFlight: [], cursor: 0, rr: 0 };
      this.#origins.set(key, origin);
    }
    const index = this.#pick(key, origin);
    origin.inFlight[index]!++;
    return origin.pools[index]!.dispatch(options, counted(handler, () => origin.inFlight[index]!--));
  }

  #pick(key: string, origin: Origin): number {
    const { pools, inFlight } = origin;
    for (let k = 0; k < pools.length; k++) {
      const i = (origin.cursor + k) % pools.length;
      if (inFlight[i]! < this.#shardSize) {
        origin.cursor = i;
        return i;
      }
      // Only move past a full shard while there are few shards to scan, or room to add one.
      if (k > 2 && pools.length * this.#shardSize < this.#connections) break;
    }
    if (pools.length * this.#shardSize < this.#connections) {
      const size = Math.min(this.#shardSize, this.#connections - pools.length * this.#shardSize);
      pools.push(new Pool(key, { ...this.#options, connections: size }));
      inFlight.push(0);
      origin.cursor = pools.length - 1;
      return origin.cursor;
    }
    // Every shard is full: spread the queue evenly.
    origin.rr = (origin.rr + 1) % pools.length;
    return origin.rr;
  }

  // Only the promise forms of close() and destroy(): spate never passes callbacks.
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true;
    const done = Promise.all([...this.#origins.values()].flatMap((o) => o.pools.map((p) => p.close()))).then(() => {});
    if (callback) void done.then(callback);
    else return done;
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    this.#closed = true;
    const error = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all([...this.#origins.values()].flatMap((o) => o.pools.map((p) => p.destroy(error)))).then(() => {});
    if (callback) void done.then(callback);
    else return done;
  }
}

/** Forwards every handler call, and calls `done` once when the request ends either way. */
function counted(handler: Handler, done: () => void): Handler {
  let ended = false;
  const end = () => {
    if (!ended) {
      ended = true;
      done();
    }
  };
  return {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onRequestUpgrade: (controller, statusCode, headers, socket) => handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
    onResponseStart: (controller, statusCode, headers, statusMessage) => handler.onResponseStart?.(controller, statusCode, headers, statusMessage),
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => {
      end();
      handler.onResponseEnd?.(controller, trailers);
    },
    onResponseError: (controller, error) => {
      end();
      handler.onResponseError?.(controller, error);
    },
  };
}

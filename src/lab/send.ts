// Writing responses. The plain path (`send`) is one writeHead + end. Bodies that are large,
// throttled, stalled or cut short go through `BodyWriter`, which writes blocks under backpressure
// (never more than one block queued past the socket's high-water mark) and clears its timers
// when the response closes, so a client that disconnects leaves nothing behind.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Clock, Timer } from '../core/clock.ts';
import type { BodyFaults } from './faults.ts';

/** A body generated on demand: `read(offset, length)` returns that slice. */
export interface BodySource {
  readonly length: number;
  read(offset: number, length: number): Buffer;
}

/** How a body is written. */
export interface SendOptions {
  faults?: BodyFaults | undefined;
  /** Omit Content-Length (chunked transfer encoding). */
  chunked?: boolean | undefined;
  /** Block size for generated and chunked bodies. */
  chunkSize?: number | undefined;
}

const BLOCK = 256 * 1024;
/** Keep writing past the socket's high-water mark until this much is queued: fewer, larger writes. */
const QUEUE = 1024 * 1024;
const MAX_WRITES_PER_TURN = 256;

/** Calls `fn` after `ms` unless the response closes first (the timer is then cleared). */
export function later(clock: Clock, res: ServerResponse, ms: number, fn: () => void): void {
  if (ms <= 0) {
    fn();
    return;
  }
  const onClose = () => timer.clear();
  const timer = clock.setTimer(ms, () => {
    res.off('close', onClose);
    if (!res.destroyed) fn();
  });
  res.once('close', onClose);
}

/** Sends `body` with `status` and `headers`, applying body faults when there are any. */
export function send(
  clock: Clock,
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  body: Buffer | string | BodySource,
  options?: SendOptions,
): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  if (Buffer.isBuffer(buf) && options === undefined) {
    headers['content-length'] = buf.length;
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : buf);
    return;
  }
  const source: BodySource = Buffer.isBuffer(buf) ? bufferSource(buf) : buf;
  new BodyWriter(clock, req, res, status, headers, source, options ?? {}).start();
}

function bufferSource(buf: Buffer): BodySource {
  return { length: buf.length, read: (offset, length) => buf.subarray(offset, offset + length) };
}

/** Destroys the connection of `res` once what was written has been flushed. */
export function cutConnection(res: ServerResponse): void {
  const socket = res.socket;
  if (socket === null) return;
  res.flushHeaders();
  socket.end(() => socket.destroy());
}

class BodyWriter {
  readonly #clock: Clock;
  readonly #res: ServerResponse;
  readonly #source: BodySource;
  readonly #faults: BodyFaults | undefined;
  readonly #block: number;
  /** Bytes to send before stopping: the whole body, or less for `short` / `fail_at`. */
  readonly #limit: number;
  readonly #declared: number;
  readonly #stallAt: number;
  #pos = 0;
  #stalled = false;
  #timer: Timer | undefined;
  #head: boolean;

  constructor(
    clock: Clock,
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: OutgoingHttpHeaders,
    source: BodySource,
    options: SendOptions,
  ) {
    this.#clock = clock;
    this.#res = res;
    this.#source = source;
    this.#faults = options.faults;
    this.#head = req.method === 'HEAD';
    const f = options.faults;
    let declared = source.length;
    let limit = source.length;
    if (f?.short) {
      if (declared === 0) declared = 1;
      limit = Math.floor(source.length / 2);
    }
    if (f !== undefined && f.failAt >= 0) limit = Math.min(limit, f.failAt);
    this.#limit = limit;
    this.#declared = declared;
    this.#stallAt = f === undefined || f.stall <= 0 ? Infinity : f.stallAt >= 0 ? f.stallAt : Math.floor(limit / 2);
    let block = options.chunkSize ?? BLOCK;
    if (f !== undefined && f.rate > 0) block = Math.max(1, Math.min(block, Math.floor(f.rate / 10)));
    this.#block = block;
    if (options.chunked) delete headers['content-length'];
    else headers['content-length'] = declared;
    res.writeHead(status, headers);
  }

  start(): void {
    if (this.#head) {
      this.#res.end();
      return;
    }
    this.#res.once('close', this.#onClose);
    this.#pump();
  }

  readonly #onClose = (): void => {
    this.#timer?.clear();
    this.#timer = undefined;
    this.#res.off('drain', this.#pump);
  };

  readonly #pump = (): void => {
    this.#timer = undefined;
    const res = this.#res;
    if (res.destroyed) return;
    const rate = this.#faults?.rate ?? 0;
    let writes = 0;
    while (this.#pos < this.#limit) {
      // Tiny blocks (chunk_size=1) would otherwise hold the event loop until the queue fills.
      if (++writes > MAX_WRITES_PER_TURN) {
        setImmediate(this.#pump);
        return;
      }
      if (!this.#stalled && this.#pos >= this.#stallAt) {
        this.#stalled = true;
        res.flushHeaders();
        this.#timer = this.#clock.setTimer(this.#faults?.stall ?? 0, this.#pump);
        return;
      }
      let n = Math.min(this.#block, this.#limit - this.#pos);
      if (!this.#stalled && this.#stallAt > this.#pos) n = Math.min(n, this.#stallAt - this.#pos);
      const chunk = this.#source.read(this.#pos, n);
      this.#pos += n;
      const ok = res.write(chunk);
      if (this.#pos >= this.#limit) break;
      if (rate > 0) {
        this.#timer = this.#clock.setTimer((n / rate) * 1000, ok ? this.#pump : this.#afterDrain);
        return;
      }
      if (!ok && res.writableLength >= QUEUE) {
        res.once('drain', this.#pump);
        return;
      }
    }
    res.off('close', this.#onClose);
    if (this.#pos >= this.#declared) res.end();
    else cutConnection(res);
  };

  readonly #afterDrain = (): void => {
    this.#timer = undefined;
    if (this.#res.writableNeedDrain) this.#res.once('drain', this.#pump);
    else this.#pump();
  };
}

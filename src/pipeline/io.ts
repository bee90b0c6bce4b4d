// Sources and targets: files line by line, Node and web streams both ways, HTTP bodies, and the
// store's keyed rows. Files are read and written in 64 KiB chunks through fs/promises (the thread
// pool), so the event loop never waits on the disk and memory stays bounded whatever the size.
// A file a run writes is a temp file until the run succeeds, then fsync'd and renamed into place.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Duplex, type Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Session } from '../http/index.ts';
import type { Target } from './pipeline.ts';
import { type ChunkedSource, chunked } from './source.ts';
import type { PipelineStore } from './store.ts';

/**
 * Splits a stream of bytes or text into lines (without `\n`, a trailing `\r` removed). The source
 * hands out arrays of lines to the pipeline (one promise per chunk, not per line).
 */
export function splitLines(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): ChunkedSource<string> {
  async function* chunks(): AsyncGenerator<string[]> {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for await (const piece of input) {
      const text = rest + (typeof piece === 'string' ? piece : decoder.write(piece));
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (let i = 0; i < parts.length; i++) {
        const line = parts[i]!;
        if (line.endsWith('\r')) parts[i] = line.slice(0, -1);
      }
      if (parts.length > 0) yield parts;
    }
    rest += decoder.end();
    if (rest !== '') yield [rest.endsWith('\r') ? rest.slice(0, -1) : rest];
  }
  return {
    [chunked]: chunks,
    async *[Symbol.asyncIterator]() {
      for await (const lines of chunks()) yield* lines;
    },
  };
}

/**
 * The lines of a text file, read in 64 KiB chunks. Memory is one chunk plus one line.
 *
 * @example
 * await pipeline(lines('big.log')).filter((l) => l.includes('ERROR')).into(linesFile('errors.log'));
 */
export function lines(path: string, options: { highWaterMark?: number | undefined } = {}): ChunkedSource<string> {
  return splitLines({ [Symbol.asyncIterator]: () => createReadStream(path, { highWaterMark: options.highWaterMark ?? 64 * 1024 })[Symbol.asyncIterator]() });
}

/** The lines of an HTTP response body, streamed through a spate/http Session. */
export function httpLines(session: Session, url: string | URL, options: { signal?: AbortSignal | undefined } = {}): ChunkedSource<string> {
  return splitLines({
    async *[Symbol.asyncIterator]() {
      const response = await session.get(url, { stream: true, signal: options.signal });
      yield* response.body as AsyncIterable<Buffer>;
    },
  });
}

/** Options of `linesFile` and `jsonlFile`. */
export interface FileTargetOptions {
  /** Append to the file instead of replacing it (then writes go straight to it). @default false */
  append?: boolean | undefined;
  /** Bytes buffered before a write. @default 65536 */
  chunkSize?: number | undefined;
}

/** A target writing one line per output (`String(value)`), complete or absent. */
export function linesFile(path: string, options: FileTargetOptions = {}): Target<unknown> {
  return fileTarget(path, (v) => `${String(v)}\n`, options);
}

/** A target writing one JSON document per line, complete or absent. */
export function jsonlFile(path: string, options: FileTargetOptions = {}): Target<unknown> {
  return fileTarget(path, (v) => `${JSON.stringify(v)}\n`, options);
}

function fileTarget(path: string, format: (v: unknown) => string, options: FileTargetOptions): Target<unknown> {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const temp = options.append ? path : join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  let fh: Promise<FileHandle> | undefined;
  let pending: string[] = [];
  let size = 0;
  // Double-buffered: one chunk is being written while the next fills; the pipeline waits only
  // when a chunk is full and the one before it is still on its way to the disk.
  let writing: Promise<unknown> | undefined;
  const handle = () => (fh ??= open(temp, options.append ? 'a' : 'w'));
  const start = () => {
    const text = pending.join('');
    pending = [];
    size = 0;
    const w = handle().then((f) => f.write(text));
    writing = w;
    w.then(() => { if (writing === w) writing = undefined; }, () => {});
  };
  const flush = async () => {
    while (writing) await writing;
    start();
  };
  return {
    write(value) {
      const line = format(value);
      pending.push(line);
      size += line.length;
      if (size < chunkSize) return undefined;
      if (!writing) {
        start();
        return undefined;
      }
      return flush();
    },
    async close() {
      while (writing) await writing;
      if (size > 0 || !fh) await flush();
      while (writing) await writing;
      const f = await handle();
      await f.sync();
      await f.close();
      if (!options.append) await rename(temp, path);
    },
    async abort() {
      await writing?.catch(() => {});
      if (fh) await (await fh).close().catch(() => {});
      if (!options.append) await rm(temp, { force: true });
    },
  };
}

/** A target writing to a Node Writable, honouring its backpressure; `end()`s it on success. */
export function toWritable(stream: Writable, options: { end?: boolean | undefined } = {}): Target<unknown> {
  const waitDrain = () => new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      stream.off('drain', done);
      stream.off('error', done);
      if (error) reject(error);
      else resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
  });
  return {
    write(value) {
      return stream.write(value) ? undefined : waitDrain();
    },
    async close() {
      if (options.end === false) return;
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        stream.end(() => resolve());
      });
    },
    async abort(reason) {
      stream.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    },
  };
}

/** A target writing to a web WritableStream (waits for `ready`, its backpressure). */
export function toWebWritable<T>(stream: WritableStream<T>): Target<T> {
  const writer = stream.getWriter();
  return {
    async write(value) {
      await writer.ready;
      void writer.write(value).catch(() => {});
    },
    async close() {
      await writer.close();
    },
    async abort(reason) {
      await writer.abort(reason).catch(() => {});
    },
  };
}

/**
 * The exactly-once sink: each output is upserted into the store under its key — by default its
 * source position(s), so an item processed again after a resume replaces its own row.
 *
 * @example
 * const store = SqlitePipelineStore.open('state.sqlite');
 * await pipeline(items, { name: 'job', store }).map(work).into(keyedSink(store, 'job'));
 */
export function keyedSink<T>(store: PipelineStore, pipeline: string, key?: (value: T) => string): Target<T> {
  let n = 0;
  return {
    write(value, position) {
      const k = key ? key(value) : position ?? String(n++);
      return store.upsert(pipeline, k, value);
    },
    async close() {},
    async abort() {},
  };
}

/** Writes the store's keyed rows to a JSONL file, complete or absent; returns the row count. */
export async function exportRows(store: PipelineStore, pipeline: string, path: string): Promise<number> {
  const target = jsonlFile(path);
  let n = 0;
  try {
    for await (const row of store.rows(pipeline)) {
      await target.write(row.value, row.key);
      n++;
    }
    await target.close();
  } catch (error) {
    await target.abort(error);
    throw error;
  }
  return n;
}

/**
 * A Duplex for `stream.pipeline`: what is written to it is the source of the pipeline `build`
 * makes, and what it reads out are that pipeline's outputs.
 *
 * @example
 * await stream.pipeline(readable, duplex((src) => pipeline(src).map(parse)), writable);
 */
export function duplex<I, O>(build: (source: AsyncIterable<I>) => AsyncIterable<O>): Duplex {
  return Duplex.from(async function* (source: AsyncIterable<I>) {
    yield* build(source);
  });
}

/** The same as a web `{ writable, readable }` pair (for `readable.pipeThrough`). */
export function webTransform<I, O>(build: (source: AsyncIterable<I>) => AsyncIterable<O>): { writable: WritableStream<I>; readable: ReadableStream<O> } {
  return Duplex.toWeb(duplex(build)) as { writable: WritableStream<I>; readable: ReadableStream<O> };
}


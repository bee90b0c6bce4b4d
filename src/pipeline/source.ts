// What a pipeline reads, and the fast path for sources that come in chunks.

/** What a pipeline can read: arrays and other iterables, async iterables (Node Readable and web ReadableStream are). */
export type Source<T> = Iterable<T> | AsyncIterable<T>;

/** A source that hands out items in arrays, to skip a promise per item (see `lines()`). */
export const chunked: unique symbol = Symbol('spate.pipeline.chunked');
export interface ChunkedSource<T> extends AsyncIterable<T> {
  [chunked](): AsyncIterable<T[]>;
}

// What a pipeline reads, and the fast path for sources that come in chunks.

/** What a pipeline can read: arrays and other iterables, async iterables (Node Readable and web ReadableStream are). */
export type Source<T> = Iterable<T> | AsyncIterable<T>;

/** A source that hands out items in arrays, to skip a promise per item (see `lines()`). */
export const chunked: unique symbol = Symbol('spate.pipeline.chunked');
/** An async iterable that can also hand out its items in arrays; a pipeline reads the arrays when it can. */
export interface ChunkedSource<T> extends AsyncIterable<T> {
  /** The same items, in arrays (in the same order). */
  [chunked](): AsyncIterable<T[]>;
}

// Newline framing for byte streams. A line ends at `\n`; one `\r` before it is dropped. Bytes
// stay bytes until a line is complete, so a multi-byte character split across packets is never
// cut. A line inside one chunk is handed out as a view of that chunk (no copy); only a line that
// spans chunks is concatenated. Pending bytes are bounded by `maxLineLength` (+1 for a `\r`).

/** What `push()` reports: every line handed out, a line over the limit, or `stop()` was called. */
export type PushResult = 'ok' | 'too-long' | 'stopped';

/**
 * Splits a byte stream into lines of at most `maxLineLength` bytes (the terminator not counted).
 *
 * @example
 * const splitter = new LineSplitter(1024, (line) => console.log(line.toString()));
 * socket.on('data', (chunk) => { if (splitter.push(chunk) === 'too-long') socket.destroy(); });
 */
export class LineSplitter {
  readonly maxLineLength: number;
  #onLine: (line: Buffer) => void;
  #parts: Buffer[] = [];
  #pending = 0;
  #stopped = false;

  constructor(maxLineLength: number, onLine: (line: Buffer) => void) {
    this.maxLineLength = maxLineLength;
    this.#onLine = onLine;
  }

  /** Bytes held for a line not yet terminated. */
  get pending(): number {
    return this.#pending;
  }

  /** Makes the current and every later `push()` hand out nothing more (the caller is done). */
  stop(): void {
    this.#stopped = true;
    this.#parts = [];
    this.#pending = 0;
  }

  /**
   * The bytes of an unterminated last line (at end of stream), or undefined when there are none;
   * a trailing `\r` is dropped. The splitter is empty afterwards. Data is never dropped silently.
   */
  end(): Buffer | undefined {
    if (this.#stopped || this.#pending === 0) return undefined;
    let line = Buffer.concat(this.#parts, this.#pending);
    this.#parts = [];
    this.#pending = 0;
    if (line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    return line;
  }

  /** Feeds a chunk, calling `onLine` for each complete line in it, in order. */
  push(chunk: Buffer): PushResult {
    if (this.#stopped) return 'stopped';
    let start = 0;
    let end = chunk.indexOf(10, start);
    while (end !== -1) {
      let line: Buffer;
      if (this.#pending === 0) {
        line = chunk.subarray(start, end);
      } else {
        this.#parts.push(chunk.subarray(start, end));
        line = Buffer.concat(this.#parts, this.#pending + end - start);
        this.#parts = [];
        this.#pending = 0;
      }
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLineLength) {
        this.stop();
        return 'too-long';
      }
      this.#onLine(line);
      if (this.#stopped) return 'stopped';
      start = end + 1;
      end = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.#pending + rest > this.maxLineLength + 1) {
        this.stop();
        return 'too-long';
      }
      // A view would pin the whole chunk; copy when the rest is a small part of it.
      this.#parts.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
      this.#pending += rest;
    }
    return 'ok';
  }
}

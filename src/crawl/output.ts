// The JSONL output of a crawl, written only from the store's committed records.
//
// Design: records get a sequence number when they are committed. The output remembers, in the
// store's meta table, a high-water mark: the last seq it wrote and the file's size after it.
// Appending is "write the lines, then commit the new mark"; a crash between the two leaves lines
// past the mark, and on the next open the file is truncated back to the mark's size and the
// records after the mark are written again from the store — so the file ends up with every
// record exactly once, in seq order. A different output path (or a file shorter than the mark,
// e.g. deleted) starts over from seq 0. stdout cannot be truncated: there a resume prints the
// records after the mark, and lines written just before a SIGKILL may appear twice. Other targets
// that are not regular files (/dev/null, a FIFO, a terminal) are streams in the same way as stdout.
import { closeSync, fstatSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CrawlStore } from './store.ts';

/**
 * Appends committed records to a JSONL file (or stdout for `-`), exactly once across resumes.
 *
 * @example
 * const out = JsonlOutput.open(store, 'pages.jsonl'); // catches up from the store
 * out.append(store.commit(completions, discoveries).records);
 */
export class JsonlOutput {
  readonly #store: CrawlStore;
  readonly #fd: number | undefined;
  readonly #key: string;
  #seq: number;
  #offset: number;

  private constructor(store: CrawlStore, fd: number | undefined, key: string, seq: number, offset: number) {
    this.#store = store;
    this.#fd = fd;
    this.#key = key;
    this.#seq = seq;
    this.#offset = offset;
  }

  /** Opens `target` (a path, or `-` for stdout) and writes the records it misses. */
  static open(store: CrawlStore, target: string): JsonlOutput {
    if (target === '-') {
      const seq = Number(store.getMeta('out.stdout.seq') ?? 0);
      const out = new JsonlOutput(store, undefined, 'out.stdout', seq, 0);
      out.#catchUp();
      return out;
    }
    const path = resolve(target);
    let kind: 'file' | 'stream' | 'missing' = 'missing';
    try {
      kind = statSync(path).isFile() ? 'file' : 'stream';
    } catch {
      // Missing: created below.
    }
    if (kind === 'stream') {
      const key = `out.stream.${path}`;
      const out = new JsonlOutput(store, openSync(path, 'w'), key, Number(store.getMeta(`${key}.seq`) ?? 0), -1);
      out.#catchUp();
      return out;
    }
    let fd: number;
    try {
      fd = openSync(path, 'r+');
    } catch {
      fd = openSync(path, 'w+');
    }
    const size = fstatSync(fd).size;
    let seq = 0;
    let offset = 0;
    if (store.getMeta('out.file.path') === path) {
      const markSeq = Number(store.getMeta('out.file.seq') ?? 0);
      const markOffset = Number(store.getMeta('out.file.offset') ?? 0);
      if (size >= markOffset) {
        seq = markSeq;
        offset = markOffset;
      }
    }
    ftruncateSync(fd, offset);
    store.setMeta({ 'out.file.path': path, 'out.file.seq': String(seq), 'out.file.offset': String(offset) });
    const out = new JsonlOutput(store, fd, 'out.file', seq, offset);
    out.#catchUp();
    return out;
  }

  /** Last seq written. */
  get seq(): number {
    return this.#seq;
  }

  /** Writes records (from `commit()`, in seq order) that come after the mark. */
  append(records: readonly { seq: number; record: string }[]): void {
    let text = '';
    let last = this.#seq;
    for (const r of records) {
      if (r.seq <= last) continue;
      if (r.seq !== last + 1) {
        // A gap means records were committed without being handed here: read them back.
        this.#catchUp();
        return;
      }
      text += `${r.record}\n`;
      last = r.seq;
    }
    if (last === this.#seq) return;
    this.#write(text, last);
  }

  /** Stops writing (the file is closed; the store is not). */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
  }

  #catchUp(): void {
    for (;;) {
      const rows = this.#store.records(this.#seq, 1000);
      if (rows.length === 0) return;
      let text = '';
      for (const r of rows) text += `${r.record}\n`;
      this.#write(text, rows.at(-1)!.seq);
    }
  }

  #write(text: string, seq: number): void {
    const buf = Buffer.from(text);
    if (this.#fd === undefined || this.#offset < 0) {
      writeAll(this.#fd ?? 1, buf, undefined);
      this.#seq = seq;
      this.#store.setMeta({ [`${this.#key}.seq`]: String(seq) });
      return;
    }
    writeAll(this.#fd, buf, this.#offset);
    this.#offset += buf.length;
    this.#seq = seq;
    this.#store.setMeta({ [`${this.#key}.seq`]: String(seq), [`${this.#key}.offset`]: String(this.#offset) });
  }
}

function writeAll(fd: number, buf: Buffer, position: number | undefined): void {
  let done = 0;
  while (done < buf.length) {
    try {
      done += writeSync(fd, buf, done, buf.length - done, position === undefined ? null : position + done);
    } catch (error) {
      // A non-blocking stdout pipe that is full: wait for it by retrying.
      if ((error as { code?: string }).code !== 'EAGAIN') throw error;
    }
  }
}

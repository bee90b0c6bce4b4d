// The download list: one entry per line, read as a stream (readline), so a list of a million
// URLs costs the memory of one line. Lines are `URL`, `URL<TAB>name` or
// `URL<TAB>name<TAB>sha256:<hex>` (name may be empty); blank lines and `#` comments are skipped.
// A bad line becomes a `ListError` record and reading goes on.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** One file to download. */
export interface ListItem {
  url: string;
  /** A file name asked for (sanitised before use). */
  name?: string | undefined;
  /** The expected SHA-256, lower-case hex. */
  sha256?: string | undefined;
  /** The line of the list it came from (1-based), when it came from a list. */
  line?: number | undefined;
}

/** A line that could not be read as an item. */
export interface ListError {
  line: number;
  /** The line as read (cut at 200 characters). */
  text: string;
  error: string;
}

/** One line of a download list: an item, or why the line was refused. */
export type ListEntry = ListItem | ListError;

/** True for the error records of `parseList`. */
export function isListError(entry: ListEntry): entry is ListError {
  return 'error' in entry;
}

const MAX_LINE = 64 * 1024;

/**
 * Parses one line; `undefined` for blank lines and comments.
 *
 * @example
 * parseLine('http://h/a.bin\ta.bin\tsha256:ab…', 3) // { url, name: 'a.bin', sha256: 'ab…', line: 3 }
 */
export function parseLine(raw: string, line: number): ListEntry | undefined {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const fail = (error: string): ListError => ({ line, text: text.slice(0, 200), error });
  if (text.length > MAX_LINE) return fail(`line longer than ${MAX_LINE} characters`);
  const fields = text.split('\t');
  if (fields.length > 3) return fail(`expected at most 3 tab-separated fields, got ${fields.length}`);
  const [rawUrl = '', name = '', checksum = ''] = fields;
  let url: URL;
  try {
    url = new URL(rawUrl.trim());
  } catch {
    return fail(`not a URL: ${JSON.stringify(rawUrl.trim().slice(0, 100))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(`not an http(s) URL: ${url.protocol}`);
  const item: ListItem = { url: url.href, line };
  if (name.trim() !== '') item.name = name.trim();
  if (checksum.trim() !== '') {
    const m = /^sha256:([0-9a-f]{64})$/i.exec(checksum.trim());
    if (m === null) return fail(`checksum must be sha256:<64 hex digits>, got ${JSON.stringify(checksum.trim().slice(0, 80))}`);
    item.sha256 = m[1]!.toLowerCase();
  }
  return item;
}

/**
 * The entries of a list, streamed: a path, `'-'` for stdin, or a readable stream.
 *
 * @example
 * for await (const entry of parseList('urls.txt')) {
 *   if (isListError(entry)) console.error(`line ${entry.line}: ${entry.error}`);
 * }
 */
export async function* parseList(source: string | Readable): AsyncGenerator<ListEntry> {
  const input = typeof source === 'string' ? (source === '-' ? process.stdin : createReadStream(source)) : source;
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const raw of lines) {
      n++;
      const entry = parseLine(raw, n);
      if (entry !== undefined) yield entry;
    }
  } finally {
    lines.close();
    if (typeof source === 'string' && source !== '-') input.destroy();
  }
}

// Files for downloaders: `/files/<name>?size=N`. The content is a pure function of (seed, name,
// version), generated block by block as it is sent, so a 100 GiB file costs no memory and any
// Range can start anywhere. Validators: a strong ETag and a Last-Modified, both changed by
// `version=`; conditional requests follow RFC 9110 (If-None-Match → 304, If-Range → 206 only
// when the validator matches, a single byte range → 206, unsatisfiable → 416; several ranges
// are answered with the whole file, which the RFC allows).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { validateHeaderValue } from 'node:http';
import type { LabContext } from './context.ts';
import type { BodyFaults } from './faults.ts';
import { serveLyingFile } from './lies.ts';
import { fillBytes, hash32 } from './rng.ts';
import { send } from './send.ts';

/** Default size of a file when `size=` is absent. */
export const DEFAULT_FILE_SIZE = 1024 * 1024;
const MAX_SIZE = 2 ** 40;
const EPOCH = Date.UTC(2026, 0, 1);

/** The stream key of a file's content, for tests that want the expected bytes. */
export function fileKey(seed: number, name: string, version = ''): number {
  return hash32(`file\0${name}\0${version}`, seed);
}

/**
 * Bytes [start, start + length) of file `name` at `version`, exactly as the lab serves them.
 *
 * @example
 * const expected = fileBytes(1, 'a.bin', 0, 1024); // what GET /files/a.bin?size=1024 returns with seed 1
 */
export function fileBytes(seed: number, name: string, start: number, length: number, version = ''): Buffer {
  return fillBytes(fileKey(seed, name, version), start, length);
}

/**
 * A Content-Disposition value for `name`, sent as-is (quotes escaped; non-ASCII in filename*).
 *
 * @example
 * dispositionFor('../../etc/passwd') // 'attachment; filename="../../etc/passwd"'
 */
export function dispositionFor(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name)) return `attachment; filename="${name.replace(/["\\]/g, '\\$&')}"`;
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

interface Range {
  start: number;
  end: number;
}

/** Parses a single `bytes=` range against `size`: a Range, 'unsatisfiable', or undefined (ignore). */
function parseRange(header: string, size: number): Range | 'unsatisfiable' | undefined {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (m === null) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? Infinity : Number(b);
  if (end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

function error(ctx: LabContext, req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  send(ctx.clock, req, res, status, { 'content-type': 'application/json' }, JSON.stringify({ error: message, status }));
}

/** Serves `/files/<name>`; `name` is the decoded rest of the path. */
export function serveFile(
  ctx: LabContext,
  req: IncomingMessage,
  res: ServerResponse,
  name: string,
  q: URLSearchParams,
  faults: BodyFaults | undefined,
): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    error(ctx, req, res, 405, 'Method Not Allowed');
    return;
  }
  const sizeText = q.get('size');
  const size = sizeText === null ? DEFAULT_FILE_SIZE : Number(sizeText);
  if (name === '' || !Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE) {
    error(ctx, req, res, name === '' ? 404 : 400, name === '' ? 'Not Found' : `bad size ${String(sizeText)}`);
    return;
  }
  const lie = q.get('lie');
  if (lie !== null) {
    serveLyingFile(ctx, req, res, name, size, lie, q.get('key') ?? name);
    return;
  }
  const version = q.get('version') ?? '';
  const key = fileKey(ctx.seed, name, version);
  const etag = `"${key.toString(16).padStart(8, '0')}-${size.toString(16)}"`;
  const lastModified = new Date(EPOCH + (version === '' ? 0 : (hash32(version) % 10_000_000) * 1000)).toUTCString();
  const norange = q.get('norange') === '1' || q.get('norange') === 'true';
  const headers: OutgoingHttpHeaders = {
    'content-type': q.get('type') ?? 'application/octet-stream',
    etag,
    'last-modified': lastModified,
  };
  if (!norange) headers['accept-ranges'] = 'bytes';
  const raw = q.get('cd');
  const disposition = raw ?? (q.has('disposition') ? dispositionFor(q.get('disposition') ?? '') : undefined);
  if (disposition !== undefined) {
    try {
      validateHeaderValue('content-disposition', disposition);
    } catch {
      error(ctx, req, res, 400, 'cd= holds characters a header cannot carry');
      return;
    }
    headers['content-disposition'] = disposition;
  }
  const inm = req.headers['if-none-match'];
  if (inm !== undefined && (inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  let status = 200;
  let start = 0;
  let length = size;
  const rangeHeader = req.headers.range;
  if (!norange && rangeHeader !== undefined && !rangeHeader.includes(',')) {
    const ifRange = req.headers['if-range'] as string | undefined;
    const fresh = ifRange === undefined
      || (ifRange.startsWith('"') || ifRange.startsWith('W/') ? ifRange === etag : Date.parse(ifRange) === Date.parse(lastModified));
    const range = fresh ? parseRange(rangeHeader, size) : undefined;
    if (range === 'unsatisfiable') {
      const body = JSON.stringify({ error: 'Range Not Satisfiable', status: 416 });
      send(ctx.clock, req, res, 416, { 'content-type': 'application/json', 'content-range': `bytes */${size}`, etag }, body);
      return;
    }
    if (range !== undefined) {
      status = 206;
      start = range.start;
      length = range.end - range.start + 1;
      headers['content-range'] = `bytes ${range.start}-${range.end}/${size}`;
    }
  }
  const source = { length, read: (offset: number, n: number) => fillBytes(key, start + offset, n) };
  send(ctx.clock, req, res, status, headers, source, { faults });
}

// File names for downloads: from the list, from Content-Disposition (RFC 6266) or from the URL
// path, made safe for any file system.
//
// Design: a name is reduced to ONE path component before anything else (the last component after
// `/` or `\`), so no input can name a directory; then it is cleaned (NFC, no control or format
// characters, no characters Windows forbids, no leading dots, no trailing dots or spaces, no
// reserved device names), capped at 200 UTF-8 bytes keeping the extension, and `download` when
// nothing is left. `safeJoin` checks the result with `path.resolve` as a last line of defence.
// Collisions are resolved by the store (one claim per name, in input order), not here.
import { resolve, sep } from 'node:path';
import { UnsafePathError } from './errors.ts';

/** The longest file name, in UTF-8 bytes (most file systems allow 255). */
export const MAX_NAME_BYTES = 200;
const FALLBACK = 'download';
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$/i;
// C0, DEL, C1 controls, Unicode format characters (bidi overrides, zero-width), separators.
const STRIP = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
const FORBIDDEN = /[<>:"|?*]/g;

/**
 * A safe file name from any string: one path component, never empty, ≤ 200 UTF-8 bytes.
 *
 * @example
 * sanitizeName('../../etc/passwd') // 'passwd'
 * sanitizeName('CON.txt')          // '_CON.txt'
 */
export function sanitizeName(raw: string): string {
  let name = raw.toWellFormed().normalize('NFC');
  const parts = name.split(/[/\\]/);
  name = parts[parts.length - 1] ?? '';
  name = name.replace(STRIP, '').replace(FORBIDDEN, '_').replace(/\s+/g, ' ');
  name = name.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  if (name === '') return FALLBACK;
  const dot = name.indexOf('.');
  const stem = dot < 0 ? name : name.slice(0, dot);
  if (RESERVED.test(stem.trim())) name = `_${name}`;
  return capBytes(name, MAX_NAME_BYTES);
}

/** Cuts `name` to at most `max` UTF-8 bytes, keeping a short extension and whole code points. */
export function capBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && Buffer.byteLength(name.slice(dot)) <= 32 ? name.slice(dot) : '';
  const room = max - Buffer.byteLength(ext);
  let stem = '';
  let bytes = 0;
  for (const ch of name.slice(0, name.length - ext.length)) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > room) break;
    stem += ch;
    bytes += n;
  }
  stem = stem.replace(/[\s.]+$/, '');
  return stem === '' ? capBytes(FALLBACK + ext, max) : stem + ext;
}

/**
 * The file name a Content-Disposition header proposes, unsanitised; `filename*` (RFC 5987,
 * UTF-8 or ISO-8859-1) wins over `filename`. `undefined` when there is none.
 *
 * @example
 * nameFromDisposition(`attachment; filename="a.txt"; filename*=UTF-8''%E2%82%AC.txt`) // '€.txt'
 */
export function nameFromDisposition(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  let plain: string | undefined;
  let extended: string | undefined;
  const param = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  for (let m = param.exec(header); m !== null; m = param.exec(header)) {
    const key = m[1]!.toLowerCase();
    const raw = m[2]!.trim();
    if (key === 'filename*') extended ??= decodeExtended(raw);
    else if (key === 'filename') plain ??= raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return extended ?? plain;
}

function decodeExtended(value: string): string | undefined {
  const m = /^([\w!#$%&+^`{}~-]+)'[^']*'(.*)$/.exec(value.replace(/^"|"$/g, ''));
  if (m === null) return undefined;
  const charset = m[1]!.toLowerCase();
  const bytes: number[] = [];
  const text = m[2]!;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9a-f]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i) & 0xff);
    }
  }
  const buf = Buffer.from(bytes);
  if (charset === 'utf-8') return new TextDecoder('utf-8').decode(buf);
  if (charset === 'iso-8859-1') return buf.toString('latin1');
  return undefined;
}

/**
 * The last non-empty segment of a URL's path, percent-decoded (raw when the escapes are not
 * UTF-8); `undefined` for `/`.
 *
 * @example
 * nameFromUrl('http://h/files/a%20b.zip?x=1') // 'a b.zip'
 */
export function nameFromUrl(url: string | URL): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const segments = pathname.split('/').filter((s) => s !== '');
  const last = segments[segments.length - 1];
  if (last === undefined) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * The variant of `name` for the n-th claim of it (n ≥ 2): `a (2).txt`.
 *
 * @example
 * suffixed('a.tar.gz', 3) // 'a (3).tar.gz'
 */
export function suffixed(name: string, n: number): string {
  if (n <= 1) return name;
  let dot = name.indexOf('.', 1);
  if (dot > 0 && Buffer.byteLength(name.slice(dot)) > 32) dot = name.lastIndexOf('.');
  const [stem, ext] = dot <= 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot)];
  const tail = ` (${n})${Buffer.byteLength(ext) > 32 ? '' : ext}`;
  return capBytes(stem, MAX_NAME_BYTES - Buffer.byteLength(tail)) + tail;
}

/** The key names collide on: case-insensitive, as on macOS and Windows. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * `dir/name`, after checking with `path.resolve` that it is directly inside `dir`.
 * Throws `UnsafePathError` otherwise.
 */
export function safeJoin(dir: string, name: string): string {
  const base = resolve(dir);
  const full = resolve(base, name);
  if (!full.startsWith(base + sep) || full.slice(base.length + 1).includes(sep) || name !== full.slice(base.length + 1)) {
    throw new UnsafePathError(`refusing a path outside ${base}: ${JSON.stringify(name)}`);
  }
  return full;
}

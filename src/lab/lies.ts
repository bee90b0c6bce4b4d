// The lying-server mode of `/files/<name>?lie=<seed>`: a server that tells every lie a downloader
// must survive, chosen per request by a seed. It exists to prove a downloader's promise — a file
// ends byte-identical to one true version of the content, or failed — against any combination.
//
// Model: the file has versions 0, 1, 2 (the content changes on the server; sizes may change too).
// Each answer carries the true bytes of some region of the current version; what may lie is the
// framing: status, Content-Range (start, end, total), Content-Length, validators, and the body's
// extent (cut short, or starting earlier than stated: repeated bytes). A lie that no client could
// detect (the same ETag on another content of the same size) is never told: it is corruption,
// not a lie about ranges.
//
// Determinism: decision k of request n of sequence `lie` is uniform(hash(seed, lie, k), n); the
// request number comes from the lab's per-scope counters (scope: `key=` or the file name).
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { LabContext } from './context.ts';
import { fillBytes, hash32, uniform } from './rng.ts';
import { send } from './send.ts';

/** The versions a lying file goes through. */
export const LIE_VERSIONS = 3;

/** What one sequence (one `lie=` value) is like; fixed for the whole sequence. */
export interface LieProfile {
  /** How often lies are told, in [0, 1]. */
  intensity: number;
  /** 'strong': a strong ETag per version; 'weak': a W/ ETag; 'date': Last-Modified only; 'none'. */
  validators: 'strong' | 'weak' | 'date' | 'none';
  /** The ETag stays the same when a new version has another size (a detectable lie). */
  stableEtag: boolean;
  /** The size of each version. */
  sizes: number[];
}

function decide(ctx: LabContext, lie: string, what: string, n: number): number {
  return uniform(hash32(`lie\0${lie}\0${what}`, ctx.seed), n);
}

/** The profile of sequence `lie` for a file of `size` bytes at version 0. */
export function lieProfile(seed: number, lie: string, size: number): LieProfile {
  const u = (what: string) => uniform(hash32(`lie\0${lie}\0${what}`, seed), 0);
  // Half the sequences have a strong ETag: the ones a downloader resumes, where range lies bite.
  const kinds = ['strong', 'strong', 'strong', 'weak', 'date', 'none'] as const;
  const sizes = [size];
  for (let v = 1; v < LIE_VERSIONS; v++) sizes.push(u(`size${v}`) < 0.5 ? size : Math.max(0, Math.floor(size * (0.5 + u(`scale${v}`)))));
  return {
    intensity: u('intensity'),
    validators: kinds[Math.floor(u('validators') * kinds.length)] ?? 'strong',
    stableEtag: u('stable') < 0.5,
    sizes,
  };
}

/** The version current at request `n` (the content changes on some requests, at most twice). */
export function lieVersion(seed: number, lie: string, n: number): number {
  const p = 0.08 * uniform(hash32(`lie\0${lie}\0intensity`, seed), 0);
  let v = 0;
  for (let i = 1; i <= n && v < LIE_VERSIONS - 1; i++) if (uniform(hash32(`lie\0${lie}\0change`, seed), i) < p) v++;
  return v;
}

/** The content key of version `v`. */
function versionKey(seed: number, name: string, lie: string, v: number): number {
  return hash32(`lie-file\0${name}\0${lie}\0${v}`, seed);
}

/**
 * The true content of version `v` of `/files/<name>?size=<size>&lie=<lie>` under lab seed `seed`.
 *
 * @example
 * lyingFileBytes(1, 'a.bin', 40_000, '17', 0) // what version 0 of the file is
 */
export function lyingFileBytes(seed: number, name: string, size: number, lie: string, v: number): Buffer {
  const sizes = lieProfile(seed, lie, size).sizes;
  return fillBytes(versionKey(seed, name, lie, v), 0, sizes[v] ?? size);
}

/** Serves request n of the lie sequence `lie` on `scope` (a lying file). */
export function serveLyingFile(ctx: LabContext, req: IncomingMessage, res: ServerResponse, name: string, size: number, lie: string, scope: string): void {
  const n = ctx.faults.next(`lie\0${scope}`);
  const profile = lieProfile(ctx.seed, lie, size);
  const v = lieVersion(ctx.seed, lie, n);
  const total = profile.sizes[v] ?? size;
  const key = versionKey(ctx.seed, name, lie, v);
  const p = profile.intensity;
  const d = (what: string) => decide(ctx, lie, what, n);
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
  // The ETag names the version, unless the profile keeps it across a change of size.
  const etagVersion = profile.stableEtag && total !== size ? 0 : v;
  if (profile.validators === 'strong') headers.etag = `"lie-${lie}-${etagVersion}"`;
  if (profile.validators === 'weak') headers.etag = `W/"lie-${lie}-${etagVersion}"`;
  if (profile.validators === 'date' || profile.validators === 'strong') headers['last-modified'] = new Date(Date.UTC(2026, 0, 1 + v)).toUTCString();
  const m = /^\s*bytes\s*=\s*(\d+)\s*-\s*$/i.exec(req.headers.range ?? '');
  const asked = m === null ? undefined : Number(m[1]);
  const ifRange = req.headers['if-range'];
  // An honest server answers a Range only when If-Range matches; a liar may ignore If-Range.
  const honoured = asked !== undefined && (ifRange === undefined || ifRange === headers.etag || d('ignore-if-range') < p * 0.5);
  let status = 200;
  let start = 0;
  if (honoured && d('ignore-range') >= p * 0.3) {
    if (asked >= total) {
      send(ctx.clock, req, res, 416, { 'content-range': `bytes */${total}`, ...(headers.etag === undefined ? {} : { etag: headers.etag }) }, '');
      return;
    }
    status = 206;
    start = asked;
  } else if (asked === undefined && total > 0 && d('unasked-206') < p * 0.2) {
    status = 206;
    start = Math.floor(d('unasked-start') * total);
  }
  let bodyStart = start;
  let bodyEnd = total;
  // Repeated bytes: the body starts earlier than the range says.
  if (status === 206 && start > 0 && d('repeat') < p * 0.4) bodyStart = Math.max(0, start - 1 - Math.floor(d('repeat-n') * Math.min(start, 4096)));
  // Content-Length disagrees with Content-Range: the body is only part of the stated range.
  if (status === 206 && bodyStart === start && d('short-range') < p * 0.2) bodyEnd = start + Math.floor((total - start) * d('short-range-n'));
  if (status === 206) {
    let s = start;
    let e = total - 1;
    let t: number | string = total;
    if (d('cr-start') < p * 0.15) s += 1 + Math.floor(d('cr-start-n') * 1000) * (d('cr-start-sign') < 0.5 ? -1 : 1);
    if (d('cr-end') < p * 0.15) e -= 1 + Math.floor(d('cr-end-n') * 1000);
    if (d('cr-total') < p * 0.15) t = d('cr-total-star') < 0.3 ? '*' : total + 1 + Math.floor(d('cr-total-n') * 1000);
    headers['content-range'] = `bytes ${Math.max(0, s)}-${Math.max(0, e)}/${t}`;
  }
  const length = Math.max(0, bodyEnd - bodyStart);
  const source = { length, read: (offset: number, k: number) => fillBytes(key, bodyStart + offset, k) };
  // A body with repeated bytes is never cut or shortened: so, it would be indistinguishable from
  // an honest body cut short (corruption, not a lie a client can see); whole, it is longer than
  // its range.
  const cut = bodyStart >= start && d('cut') < 0.2 + p * 0.4 ? Math.floor(d('cut-at') * length) : -1;
  // Repeated bytes hide best without a Content-Length (which would disagree with the range).
  const chunked = bodyStart < start || d('chunked') < (status === 206 ? 0.5 : 0.15);
  send(ctx.clock, req, res, status, headers, source, {
    chunked,
    // Small blocks: a body arrives in many pieces, so a lie found late follows bytes written.
    chunkSize: 16 * 1024,
    faults: cut < 0 ? undefined : { short: false, stall: 0, stallAt: -1, failAt: cut, rate: 0 },
  });
}

// Request dispatch. The hot paths (`/json`, `/health` without a query) are answered before any
// parsing; everything else splits the path once and switches on its first segment. Fault
// parameters are read for every request with a query, before the route runs.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { LabContext } from './context.ts';
import type { BodyFaults } from './faults.ts';
import { serveFile } from './files.ts';
import { fillBytes, hash32, pick } from './rng.ts';
import { later, send } from './send.ts';
import { robotsTxt, serveSite } from './site.ts';
import { post, postsOf, user } from './users.ts';

const EMPTY = new URLSearchParams();
const JSON_TYPE = 'application/json';
const MAX_DELAY_S = 60;
const MAX_BYTES = 100 * 1024 * 1024;
const MAX_STREAM_BYTES = 2 ** 40;
const MAX_REQUEST_BODY = 10 * 1024 * 1024;

/** Handles one request. */
export function handle(ctx: LabContext, req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/json') {
    res.writeHead(200, { 'content-type': JSON_TYPE, 'content-length': ctx.bodies.json.length });
    res.end(req.method === 'HEAD' ? undefined : ctx.bodies.json);
    return;
  }
  const qi = url.indexOf('?');
  const path = qi < 0 ? url : url.slice(0, qi);
  const q = qi < 0 ? EMPTY : new URLSearchParams(url.slice(qi + 1));
  const plan = qi < 0 ? undefined : ctx.faults.plan(q, path);
  if (plan === undefined) {
    route(ctx, req, res, path, q, undefined);
    return;
  }
  switch (plan.action) {
    case 'reset':
      req.socket.resetAndDestroy();
      return;
    case 'hang':
      // Never answered: the client gives up, or close() destroys the socket.
      return;
    case 'fail':
    case 'throttle429': {
      const headers: OutgoingHttpHeaders = { 'content-type': JSON_TYPE };
      if (plan.retryAfter !== undefined) headers['retry-after'] = plan.retryAfter;
      const body = JSON.stringify({ error: plan.action === 'fail' ? 'injected failure' : 'Too Many Requests', status: plan.status });
      later(ctx.clock, res, plan.latency, () => send(ctx.clock, req, res, plan.status, headers, body));
      return;
    }
    case 'none':
      later(ctx.clock, res, plan.latency, () => route(ctx, req, res, path, q, plan.body));
  }
}

function json(ctx: LabContext, req: IncomingMessage, res: ServerResponse, status: number, value: unknown, faults: BodyFaults | undefined, extra?: OutgoingHttpHeaders): void {
  const headers: OutgoingHttpHeaders = { 'content-type': JSON_TYPE, ...extra };
  send(ctx.clock, req, res, status, headers, `${JSON.stringify(value)}\n`, faults === undefined ? undefined : { faults });
}

function fail(ctx: LabContext, req: IncomingMessage, res: ServerResponse, status: number, message: string, faults: BodyFaults | undefined): void {
  json(ctx, req, res, status, { error: message, status }, faults);
}

function queryObject(q: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of q) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function origin(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}`;
}

/** Reads the request body (up to MAX_REQUEST_BODY); `done(undefined)` when it was too large. */
function readBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_REQUEST_BODY) over = true;
    else chunks.push(chunk);
  });
  req.once('end', () => done(over ? undefined : Buffer.concat(chunks)));
}

function mirror(req: IncomingMessage, path: string, q: URLSearchParams, body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  let parsed: unknown = null;
  if ((req.headers['content-type'] ?? '').includes('json') && text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  return {
    method: req.method,
    url: `${origin(req)}${req.url ?? '/'}`,
    path,
    query: queryObject(q),
    headers: req.headers,
    body: text,
    json: parsed,
    origin: req.socket.remoteAddress ?? null,
  };
}

function echo(ctx: LabContext, req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams, faults: BodyFaults | undefined): void {
  readBody(req, (body) => {
    if (body === undefined) {
      res.shouldKeepAlive = false;
      fail(ctx, req, res, 413, 'Payload Too Large', faults);
      return;
    }
    json(ctx, req, res, 200, mirror(req, path, q, body), faults);
  });
}

function positiveInt(text: string | undefined, max: number): number {
  if (text === undefined || !/^[0-9]+$/.test(text)) return -1;
  const n = Number(text);
  return n <= max ? n : -1;
}

const METHOD_ROUTES: Record<string, string> = { get: 'GET', post: 'POST', put: 'PUT', patch: 'PATCH', delete: 'DELETE' };

const STATUS_BODIES: Record<number, string> = { 418: "I'm a teapot\n" };

function route(ctx: LabContext, req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams, faults: BodyFaults | undefined): void {
  const parts = path.split('/');
  const head = parts[1] ?? '';
  const arg = parts[2];
  const opts = faults === undefined ? undefined : { faults };
  switch (head) {
    case '':
      send(ctx.clock, req, res, 200, { 'content-type': 'text/plain; charset=utf-8' }, 'spate lab: see docs/lab.md\n', opts);
      return;
    case 'health':
      if (parts.length !== 2) break;
      send(ctx.clock, req, res, 200, { 'content-type': JSON_TYPE }, ctx.bodies.health, opts);
      return;
    case 'json':
      if (parts.length !== 2) break;
      send(ctx.clock, req, res, 200, { 'content-type': JSON_TYPE }, ctx.bodies.json, opts);
      return;
    case 'gzip':
    case 'deflate':
    case 'brotli': {
      if (parts.length !== 2) break;
      const encoding = head === 'brotli' ? 'br' : head;
      send(ctx.clock, req, res, 200, { 'content-type': JSON_TYPE, 'content-encoding': encoding, vary: 'accept-encoding' }, ctx.bodies[head], opts);
      return;
    }
    case 'delay': {
      const s = arg === undefined || parts.length !== 3 ? NaN : Number(arg);
      if (!Number.isFinite(s) || s < 0 || arg === '') {
        fail(ctx, req, res, 400, 'delay takes seconds ≥ 0', faults);
        return;
      }
      const ms = Math.min(s, MAX_DELAY_S) * 1000;
      later(ctx.clock, res, ms, () => echo(ctx, req, res, path, q, faults));
      return;
    }
    case 'status': {
      const codes = (arg ?? '').split(',').map(Number);
      if (parts.length !== 3 || codes.some((c) => !Number.isInteger(c) || c < 200 || c > 599)) {
        fail(ctx, req, res, 400, 'status takes codes in [200, 599], comma-separated', faults);
        return;
      }
      const code = codes.length === 1 ? (codes[0] ?? 200) : (codes[pick(hash32(`status\0${path}`, ctx.seed), ctx.faults.next(`status\0${path}`), codes.length)] ?? 200);
      const headers: OutgoingHttpHeaders = {};
      if (code >= 300 && code < 400 && code !== 304) headers.location = '/redirect/1';
      if (code === 401) headers['www-authenticate'] = 'Basic realm="lab"';
      const retryAfter = q.get('retry_after');
      if (retryAfter !== null) headers['retry-after'] = retryAfter;
      const noBody = code === 204 || code === 304;
      send(ctx.clock, req, res, code, headers, noBody ? '' : (STATUS_BODIES[code] ?? ''), noBody ? undefined : opts);
      return;
    }
    case 'bytes':
    case 'stream-bytes': {
      const n = parts.length === 3 ? positiveInt(arg, head === 'bytes' ? MAX_BYTES : MAX_STREAM_BYTES) : -1;
      if (n < 0) {
        fail(ctx, req, res, 400, `${head} takes a byte count ≤ ${head === 'bytes' ? MAX_BYTES : MAX_STREAM_BYTES}`, faults);
        return;
      }
      const seedText = q.get('seed');
      const key = hash32('bytes', seedText === null ? ctx.seed : Number(seedText) >>> 0);
      const chunkSize = head === 'stream-bytes' ? Math.min(Math.max(1, Math.floor(Number(q.get('chunk_size') ?? 10_240)) || 10_240), 1024 * 1024) : undefined;
      send(ctx.clock, req, res, 200, { 'content-type': 'application/octet-stream' }, { length: n, read: (o, len) => fillBytes(key, o, len) }, {
        faults,
        chunked: head === 'stream-bytes',
        chunkSize,
      });
      return;
    }
    case 'drip': {
      const duration = Math.min(Math.max(Number(q.get('duration') ?? 2) || 0, 0), MAX_DELAY_S);
      const numbytes = Math.min(Math.max(Math.floor(Number(q.get('numbytes') ?? 10) || 0), 0), 10 * 1024 * 1024);
      const delay = Math.min(Math.max(Number(q.get('delay') ?? 0) || 0, 0), MAX_DELAY_S);
      const code = Number(q.get('code') ?? 200);
      const status = Number.isInteger(code) && code >= 200 && code <= 599 ? code : 200;
      const base: BodyFaults = faults ?? { short: false, stall: 0, stallAt: -1, failAt: -1, rate: 0 };
      const rate = duration > 0 && numbytes > 0 ? numbytes / duration : 0;
      const dripFaults: BodyFaults = { ...base, rate: rate > 0 ? rate : base.rate };
      const body = { length: numbytes, read: (_o: number, len: number) => Buffer.alloc(len, 0x2a) };
      later(ctx.clock, res, delay * 1000, () =>
        send(ctx.clock, req, res, status, { 'content-type': 'application/octet-stream' }, body, { faults: dripFaults, chunkSize: rate > 0 ? 1 : undefined }));
      return;
    }
    case 'anything':
    case 'echo':
      echo(ctx, req, res, path, q, faults);
      return;
    case 'get':
    case 'post':
    case 'put':
    case 'patch':
    case 'delete':
      if (parts.length !== 2) break;
      if (req.method !== METHOD_ROUTES[head] && !(head === 'get' && req.method === 'HEAD')) {
        fail(ctx, req, res, 405, 'Method Not Allowed', faults);
        return;
      }
      echo(ctx, req, res, path, q, faults);
      return;
    case 'headers':
      json(ctx, req, res, 200, { headers: req.headers }, faults);
      return;
    case 'ip':
      json(ctx, req, res, 200, { origin: req.socket.remoteAddress ?? null }, faults);
      return;
    case 'user-agent':
      json(ctx, req, res, 200, { 'user-agent': req.headers['user-agent'] ?? null }, faults);
      return;
    case 'redirect':
    case 'relative-redirect':
    case 'absolute-redirect': {
      const n = parts.length === 3 ? positiveInt(arg, 1000) : -1;
      if (n < 1) {
        fail(ctx, req, res, 400, 'redirect takes a count ≥ 1', faults);
        return;
      }
      const absolute = head === 'absolute-redirect' || (head === 'redirect' && q.get('absolute') === 'true');
      const next = n === 1 ? '/get' : `/${head}/${n - 1}`;
      send(ctx.clock, req, res, 302, { location: absolute ? `${origin(req)}${next}` : next }, '', opts);
      return;
    }
    case 'redirect-to': {
      const location = q.get('url');
      const code = Number(q.get('status_code') ?? 302);
      if (location === null || !Number.isInteger(code) || code < 300 || code > 399) {
        fail(ctx, req, res, 400, 'redirect-to takes url= and status_code= in [300, 399]', faults);
        return;
      }
      try {
        send(ctx.clock, req, res, code, { location }, '', opts);
      } catch {
        fail(ctx, req, res, 400, 'url= cannot be sent in a header', faults);
      }
      return;
    }
    case 'users': {
      const id = arg === undefined ? -1 : positiveInt(arg, ctx.users);
      if (parts.length === 2) {
        const list = [];
        for (let i = 1; i <= ctx.users; i++) list.push(user(ctx.seed, i));
        json(ctx, req, res, 200, list, faults);
        return;
      }
      if (id < 1) {
        fail(ctx, req, res, 404, 'no such user', faults);
        return;
      }
      if (parts.length === 3) {
        json(ctx, req, res, 200, user(ctx.seed, id), faults);
        return;
      }
      if (parts.length === 4 && parts[3] === 'posts') {
        json(ctx, req, res, 200, postsOf(ctx.seed, id), faults);
        return;
      }
      break;
    }
    case 'posts': {
      const id = parts.length === 3 ? positiveInt(arg, ctx.users * 10) : -1;
      if (id < 1) {
        fail(ctx, req, res, 404, 'no such post', faults);
        return;
      }
      json(ctx, req, res, 200, post(ctx.seed, id), faults);
      return;
    }
    case 'robots.txt':
      send(ctx.clock, req, res, 200, { 'content-type': 'text/plain; charset=utf-8' }, robotsTxt(ctx, req), opts);
      return;
    case 'site':
    case 'private':
      serveSite(ctx, req, res, parts, faults);
      return;
    case 'files': {
      let name: string;
      try {
        name = decodeURIComponent(parts.slice(2).join('/'));
      } catch {
        fail(ctx, req, res, 400, 'bad percent-encoding', faults);
        return;
      }
      serveFile(ctx, req, res, name, q, faults);
      return;
    }
  }
  fail(ctx, req, res, 404, 'Not Found', faults);
}

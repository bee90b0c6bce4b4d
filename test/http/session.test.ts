import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { startLab, type Lab } from '../../src/lab/index.ts';
import {
  BodyTooLargeError,
  HttpStatusError,
  HttpTimeoutError,
  InvalidJsonError,
  NetworkError,
  Session,
  TooManyRedirectsError,
} from '../../src/http/index.ts';
import { CircuitOpenError, ClosedError, InvalidArgumentError } from '../../src/core/errors.ts';
import { constantBackoff } from '../../src/core/backoff.ts';
import { VirtualClock } from '../../src/testing/index.ts';

let lab: Lab;
before(async () => {
  lab = await startLab({ port: 0 });
});
after(async () => {
  await lab.close();
});

let keys = 0;
/** A fault scope of its own, so tests never share the lab's per-key counters. */
const key = () => `k${++keys}-${Math.random().toString(36).slice(2)}`;

function session(t: { after(fn: () => Promise<void>): void }, options: ConstructorParameters<typeof Session>[0] = {}): Session {
  const retry = options.retry === false ? false : { backoff: constantBackoff(0), ...options.retry };
  const s = new Session({ baseUrl: lab.url, ...options, retry });
  t.after(() => s.destroy());
  return s;
}

test('get() - parses JSON and counts the request in the host metrics', async (t) => {
  const http = session(t);
  const res = await http.get('/json');
  assert.equal(res.status, 200);
  assert.equal(res.ok, true);
  const body = await res.json<Record<string, unknown>>();
  assert.equal(typeof body, 'object');
  const [m] = http.metrics();
  assert.equal(m!.requests, 1);
  assert.equal(m!.statuses['200'], 1);
  assert.equal(m!.latency.count, 1);
  assert.equal(m!.inFlight, 0);
});

test('request() - 500s are retried until the server recovers; attempts are reported', async (t) => {
  const http = session(t);
  const res = await http.get(`/json?fail_first=2&key=${key()}`);
  assert.equal(res.status, 200);
  assert.equal(res.attempts, 3);
  const [m] = http.metrics();
  assert.equal(m!.retries, 2);
  assert.equal(m!.statuses['500'], 2);
});

test('request() - a 404 is not retried and throws HttpStatusError', async (t) => {
  const http = session(t);
  await assert.rejects(http.get('/status/404'), (e: unknown) => e instanceof HttpStatusError && e.status === 404);
  assert.equal(http.metrics()[0]!.requests, 1);
});

test('request() - throwOnStatus: false returns the final response after retries', async (t) => {
  const http = session(t, { retry: { retries: 2 } });
  const res = await http.get(`/json?fail=1&fail_status=503&key=${key()}`, { throwOnStatus: false });
  assert.equal(res.status, 503);
  assert.equal(res.attempts, 3);
});

test('request() - a reset connection is retried as a network error', async (t) => {
  const http = session(t);
  const res = await http.get(`/json?reset=1&fault_first=1&key=${key()}`);
  assert.equal(res.status, 200);
  assert.equal(res.attempts, 2);
  await assert.rejects(session(t, { retry: false }).get(`/json?reset=1&key=${key()}`), NetworkError);
});

test('request() - a body shorter than its Content-Length is retried', async (t) => {
  const http = session(t);
  const res = await http.get(`/bytes/10000?short=1&fault_first=1&key=${key()}`);
  assert.equal((await res.bytes()).length, 10000);
  assert.equal(res.attempts, 2);
  await assert.rejects(session(t, { retry: false }).get(`/bytes/10000?short=1&key=${key()}`), NetworkError);
});

// These two use real time: the headers and body timeouts are undici's own timers. 150 ms
// against a server that never answers (or stalls 10 s) leaves a wide margin either way.
test('request() - a server that hangs hits the headers timeout, which is retried', async (t) => {
  const http = session(t, { timeouts: { headers: 150 } });
  const k = key();
  const res = await http.get(`/json?hang=1&fault_first=1&key=${k}`);
  assert.equal(res.attempts, 2);
  await assert.rejects(
    session(t, { timeouts: { headers: 150 }, retry: false }).get(`/json?hang=1&key=${key()}`),
    (e: unknown) => e instanceof HttpTimeoutError && e.phase === 'headers',
  );
});

test('request() - a body that stalls hits the body timeout, which is retried', async (t) => {
  const http = session(t, { timeouts: { body: 150 } });
  const res = await http.get(`/bytes/100000?stall=10000&fault_first=1&key=${key()}`);
  assert.equal((await res.bytes()).length, 100000);
  assert.equal(res.attempts, 2);
});

test('request() - Retry-After sets the delay before the retry', async (t) => {
  const clock = new VirtualClock();
  const http = session(t, { clock, retry: { backoff: constantBackoff(5) } });
  const delays: number[] = [];
  const onRetry = (message: unknown) => delays.push((message as { delay: number }).delay);
  subscribe('spate:retry', onRetry);
  t.after(() => unsubscribe('spate:retry', onRetry));
  const res = await clock.run(http.get(`/json?status429=1&fault_first=1&retry_after=2&key=${key()}`));
  assert.equal(res.status, 200);
  assert.deepEqual(delays, [2000]);
});

test('request() - a Retry-After beyond retryAfterMax ends the retries', async (t) => {
  const http = session(t, { retry: { retryAfterMax: 1000 } });
  await assert.rejects(http.get(`/json?fail_first=5&fail_status=503&retry_after=60&key=${key()}`), (e: unknown) => e instanceof HttpStatusError && e.status === 503);
  assert.equal(http.metrics()[0]!.requests, 1);
});

test('request() - POST is not retried unless asked', async (t) => {
  const http = session(t);
  await assert.rejects(http.post(`/post?fail_first=1&key=${key()}`, { json: { a: 1 } }), HttpStatusError);
  const res = await http.post(`/post?fail_first=1&key=${key()}`, { json: { a: 1 }, retry: true });
  assert.equal(res.attempts, 2);
  const echoed = await res.json<{ json?: unknown; body?: unknown }>();
  assert.ok(JSON.stringify(echoed).includes('"a":1'));
});

test('request() - the retry budget caps retries', async (t) => {
  const http = session(t, { retry: { retries: 5, budget: { ratio: 0, minPerSecond: 0 } } });
  await assert.rejects(http.get(`/json?fail=1&key=${key()}`), HttpStatusError);
  assert.equal(http.metrics()[0]!.requests, 1);
});

test('breaker - opens after failures, fails fast, then recovers through a probe', async (t) => {
  const clock = new VirtualClock();
  const http = session(t, { clock, retry: false, breaker: { minimumRequests: 4, failureRateThreshold: 0.5, cooldownMs: 1000 } });
  for (let i = 0; i < 4; i++) await assert.rejects(http.get('/status/500'), HttpStatusError);
  await assert.rejects(http.get('/json'), CircuitOpenError);
  assert.equal(http.metrics()[0]!.requests, 4, 'an open breaker sends nothing');
  assert.equal(http.breaker(new URL(lab.url).origin)!.state, 'open');
  await clock.advance(1000);
  const res = await http.get('/json');
  assert.equal(res.status, 200);
  assert.equal(http.breaker(new URL(lab.url).origin)!.state, 'closed');
});

test('breaker - 4xx responses do not count against the host', async (t) => {
  const http = session(t, { retry: false, breaker: { minimumRequests: 2, failureRateThreshold: 0.5 } });
  for (let i = 0; i < 4; i++) await assert.rejects(http.get('/status/404'), HttpStatusError);
  assert.equal((await http.get('/json')).status, 200);
});

test('breaker - the breaker options\' isFailure decides which errors count against the host', async () => {
  // A port nobody listens on: every request fails to connect.
  const free = createServer();
  free.listen(0, '127.0.0.1');
  await once(free, 'listening');
  const url = `http://127.0.0.1:${(free.address() as AddressInfo).port}/`;
  free.close();
  await once(free, 'close');
  const counted = new Session({ retry: false, breaker: { minimumRequests: 2, failureRateThreshold: 0.5 } });
  const ignored = new Session({ retry: false, breaker: { minimumRequests: 2, failureRateThreshold: 0.5, isFailure: () => false } });
  for (const http of [counted, ignored]) for (let i = 0; i < 3; i++) await assert.rejects(http.get(url));
  const origin = new URL(url).origin;
  assert.equal(counted.breaker(origin)!.state, 'open');
  assert.equal(ignored.breaker(origin)!.state, 'closed');
  await counted.close();
  await ignored.close();
});

test('redirects - followed to the final URL, and limited', async (t) => {
  const http = session(t);
  const res = await http.get('/redirect/3');
  assert.equal(res.status, 200);
  assert.equal(res.redirects.length, 3);
  assert.notEqual(res.url, new URL('/redirect/3', lab.url).href);
  await assert.rejects(http.get('/redirect/3', { maxRedirects: 2 }), TooManyRedirectsError);
  const raw = await http.get('/redirect/1', { maxRedirects: 0, throwOnStatus: false });
  assert.equal(raw.status, 302);
});

test('decoding - gzip, deflate and br bodies are decoded', async (t) => {
  const http = session(t);
  for (const path of ['/gzip', '/deflate', '/brotli']) {
    const body = await (await http.get(path)).json<Record<string, unknown>>();
    assert.equal(typeof body, 'object', path);
  }
});

test('maxBodyBytes - a larger body fails with BodyTooLargeError', async (t) => {
  const http = session(t);
  await assert.rejects(http.get('/bytes/5000', { maxBodyBytes: 1000 }), BodyTooLargeError);
});

test('json() - a body that is not JSON fails with InvalidJsonError and a snippet', async (t) => {
  const http = session(t);
  const res = await http.get('/bytes/64');
  await assert.rejects(res.json(), (e: unknown) => e instanceof InvalidJsonError && e.url.endsWith('/bytes/64'));
});

test('timeout - the total deadline covers retries and names its phase', async (t) => {
  const clock = new VirtualClock();
  const http = session(t, { clock, retry: { retries: 10, backoff: constantBackoff(1000) } });
  await assert.rejects(
    clock.run(http.get(`/json?fail=1&key=${key()}`, { timeout: 2500 })),
    (e: unknown) => e instanceof HttpTimeoutError && e.phase === 'total',
  );
  assert.equal(clock.pendingTimers, 0);
});

test('signal - an abort rejects with its reason and stops retrying', async (t) => {
  const http = session(t, { retry: { retries: 100, backoff: constantBackoff(10_000) } });
  const ac = new AbortController();
  const p = http.get(`/json?fail=1&key=${key()}`, { signal: ac.signal });
  setImmediate(() => ac.abort(new Error('stop')));
  await assert.rejects(p, /stop/);
});

test('stream - a streamed body arrives whole and releases the host slot at its end', async (t) => {
  const http = session(t, { perHost: { concurrency: 1 } });
  const res = await http.get('/stream-bytes/200000', { stream: true });
  let size = 0;
  for await (const chunk of res.body) size += (chunk as Buffer).length;
  assert.equal(size, 200000);
  assert.equal((await http.get('/json')).status, 200);
  assert.equal(http.metrics()[0]!.inFlight, 0);
});

test('perHost.concurrency - never more than the cap in flight to one host', async (t) => {
  const http = session(t, { perHost: { concurrency: 2 } });
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, http.metrics()[0]?.inFlight ?? 0)), 1);
  const all = Array.from({ length: 6 }, () => http.get('/delay/0.05'));
  await Promise.all(all);
  clearInterval(sample);
  assert.ok(peak <= 2, `peak ${peak}`);
  assert.equal(http.metrics()[0]!.requests, 6);
});

test('Session - bad options and URLs get clear errors; a closed session refuses', async (t) => {
  assert.throws(() => new Session({ connections: 0 }), InvalidArgumentError);
  const http = session(t);
  await assert.rejects(http.get('ftp://x/'), InvalidArgumentError);
  await http.close();
  await http.close();
  await assert.rejects(http.get('/json'), ClosedError);
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { setImmediate as turn } from 'node:timers/promises';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { buildApi, SEED_DELAYS, startApiServer } from '../../src/serve/api.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a real socket (a fresh connection unless an agent is given). */
function get(url: string, agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await turn();
}

const quiet = { loopLagIntervalMs: 0 };

describe('buildApi() endpoints (inject)', () => {
  test('GET /health reports ok, uptime in seconds from the clock, and a timestamp in epoch seconds', async () => {
    const clock = new VirtualClock();
    const app = buildApi({ ...quiet, clock });
    await clock.advance(5000);
    const res = await app.inject('/health');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    const body = res.json();
    assert.equal(body.status, 'ok');
    assert.equal(body.uptime, 5);
    assert.equal(body.pid, process.pid);
    assert.ok(Math.abs(body.timestamp - Date.now() / 1000) < 60);
    await app.close();
  });

  test('GET /slow waits `delay` seconds on the clock, then answers as the seeds do', async () => {
    const clock = new VirtualClock();
    const app = buildApi({ ...quiet, clock });
    await app.ready();
    let done = false;
    const pending = app.inject('/slow?delay=1.5').then((res) => {
      done = true;
      return res;
    });
    await until(() => clock.pendingTimers === 1);
    await clock.advance(1499);
    assert.equal(done, false);
    await clock.advance(1);
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.deepEqual({ ...res.json<object>(), timestamp: 0 }, { message: 'Slow response completed', delay: 1.5, timestamp: 0 });
    await app.close();
  });

  test('GET /slow without ?delay= waits delays.slowDefault (the seeds\' 2 s)', async () => {
    const clock = new VirtualClock();
    const app = buildApi({ ...quiet, clock });
    await app.ready();
    const res = await clock.run(app.inject('/slow'));
    assert.equal(res.json().delay, 2);
    assert.equal(clock.now(), 2000);
    await app.close();
  });

  test('POST /echo returns { received, processed, timestamp }', async () => {
    const app = buildApi(quiet);
    const payload = { hello: 'world', nested: { list: [1, 'two', null] }, unicode: '你好' };
    const res = await app.inject({ method: 'POST', url: '/echo', payload });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(body.received, payload);
    assert.equal(body.processed, true);
    assert.equal(typeof body.timestamp, 'number');
    await app.close();
  });

  test('GET /data/:id returns the seeds\' fake row', async () => {
    const app = buildApi(quiet);
    const res = await app.inject('/data/42');
    assert.equal(res.statusCode, 200);
    assert.deepEqual({ ...res.json<object>(), timestamp: 0 }, { user_id: 42, name: 'User 42', email: 'user42@example.com', timestamp: 0 });
    await app.close();
  });

  test('the seeds\' delays are opt-in: with SEED_DELAYS /echo waits 100 ms and /data 500 ms', async () => {
    const clock = new VirtualClock();
    const app = buildApi({ ...quiet, clock, delays: SEED_DELAYS });
    await app.ready();
    await clock.run(app.inject({ method: 'POST', url: '/echo', payload: {} }));
    assert.equal(clock.now(), 100);
    await clock.run(app.inject('/data/1'));
    assert.equal(clock.now(), 600);
    await app.close();
  });

  test('by default /echo and /data set no timer', async () => {
    const clock = new VirtualClock();
    const app = buildApi({ ...quiet, clock });
    await app.inject({ method: 'POST', url: '/echo', payload: {} });
    await app.inject('/data/1');
    assert.equal(clock.now(), 0);
    assert.equal(clock.pendingTimers, 0);
    await app.close();
  });
});

describe('buildApi() bad input gets a 4xx with a JSON error', () => {
  const json = { 'content-type': 'application/json' };
  const cases: Array<{ name: string; status: number; code: string; request: InjectOptions }> = [
    { name: 'invalid JSON', status: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY', request: { method: 'POST', url: '/echo', payload: '{"a":', headers: json } },
    { name: 'empty JSON body', status: 400, code: 'FST_ERR_CTP_EMPTY_JSON_BODY', request: { method: 'POST', url: '/echo', payload: '', headers: json } },
    { name: 'a JSON array where an object is expected', status: 400, code: 'FST_ERR_VALIDATION', request: { method: 'POST', url: '/echo', payload: '[1,2]', headers: json } },
    { name: 'a JSON string where an object is expected', status: 400, code: 'FST_ERR_VALIDATION', request: { method: 'POST', url: '/echo', payload: '"hi"', headers: json } },
    { name: 'body over the limit', status: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', request: { method: 'POST', url: '/echo', payload: JSON.stringify({ a: 'x'.repeat(2048) }), headers: json } },
    { name: 'text/plain body', status: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', request: { method: 'POST', url: '/echo', payload: 'hello', headers: { 'content-type': 'text/plain' } } },
    { name: 'unsupported media type', status: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', request: { method: 'POST', url: '/echo', payload: '<a/>', headers: { 'content-type': 'application/xml' } } },
    { name: 'unknown route', status: 404, code: 'FST_ERR_NOT_FOUND', request: { url: '/nope' } },
    { name: 'wrong method', status: 405, code: 'FST_ERR_METHOD_NOT_ALLOWED', request: { method: 'DELETE', url: '/health' } },
    { name: 'non-numeric delay', status: 400, code: 'FST_ERR_VALIDATION', request: { url: '/slow?delay=soon' } },
    { name: 'negative delay', status: 400, code: 'FST_ERR_VALIDATION', request: { url: '/slow?delay=-1' } },
    { name: 'delay over maxSlowMs', status: 400, code: 'FST_ERR_VALIDATION', request: { url: '/slow?delay=5.5' } },
    { name: 'non-integer id', status: 400, code: 'FST_ERR_VALIDATION', request: { url: '/data/abc' } },
    { name: 'id out of range', status: 400, code: 'FST_ERR_VALIDATION', request: { url: '/data/0' } },
    { name: 'malformed URL', status: 400, code: 'FST_ERR_BAD_URL', request: { url: '/data/%zz' } },
  ];

  for (const { name, status, code, request } of cases) {
    test(`${name} → ${status} ${code}`, async () => {
      const app = buildApi({ ...quiet, bodyLimit: 1024, maxSlowMs: 5000 });
      const res = await app.inject(request);
      assert.equal(res.statusCode, status);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = res.json();
      assert.equal(body.statusCode, status);
      assert.equal(body.code, code);
      assert.equal(typeof body.error, 'string');
      assert.equal(typeof body.message, 'string');
      await app.close();
    });
  }

  test('an error from a user route is a 500 whose message does not leak', async () => {
    const app = buildApi(quiet);
    app.get('/boom', () => {
      throw new Error('secret detail');
    });
    const res = await app.inject('/boom');
    assert.equal(res.statusCode, 500);
    assert.deepEqual(res.json(), { statusCode: 500, error: 'Internal Server Error', code: 'HTTP_500', message: 'Internal Server Error' });
    await app.close();
  });
});

describe('buildApi() /metrics', () => {
  test('counts requests by method, route and status and exposes the latency histogram', async () => {
    const app = buildApi(quiet);
    await app.inject('/health');
    await app.inject('/health');
    await app.inject('/data/7');
    await app.inject('/data/x');
    await app.inject({ method: 'POST', url: '/echo', payload: { a: 1 } });
    await app.inject('/missing/1');
    await app.inject('/missing/2');
    const res = await app.inject('/metrics');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const text = res.body;
    assert.match(text, /^http_requests_total\{method="GET",route="\/health",status="200"\} 2$/m);
    assert.match(text, /^http_requests_total\{method="GET",route="\/data\/:id",status="200"\} 1$/m);
    assert.match(text, /^http_requests_total\{method="GET",route="\/data\/:id",status="400"\} 1$/m);
    assert.match(text, /^http_requests_total\{method="POST",route="\/echo",status="200"\} 1$/m);
    // Unknown URLs share one label, so a scan cannot blow up the series count.
    assert.match(text, /^http_requests_total\{method="GET",route="<unmatched>",status="404"\} 2$/m);
    assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
    assert.match(text, /^http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/health",status="200"\} \d+$/m);
    assert.match(text, /^http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/health",status="200"\} 2$/m);
    assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} 2$/m);
    assert.match(text, /^process_cpu_user_seconds_total \d/m);
    assert.match(text, /^nodejs_heap_size_used_bytes \d/m);
    await app.close();
  });

  test('two servers in one process keep separate registries', async () => {
    const a = buildApi(quiet);
    const b = buildApi(quiet);
    await a.inject('/health');
    const textA = (await a.inject('/metrics')).body;
    const textB = (await b.inject('/metrics')).body;
    assert.match(textA, /route="\/health",status="200"\} 1$/m);
    assert.doesNotMatch(textB, /route="\/health"/);
    await a.close();
    await b.close();
  });

  test('the loop-lag background task fills event_loop_lag_seconds every interval', async () => {
    const clock = new VirtualClock();
    const app = buildApi({ clock, loopLagIntervalMs: 1000 });
    await app.ready();
    assert.doesNotMatch((await app.inject('/metrics')).body, /^event_loop_lag_seconds\{/m);
    await clock.advance(1000);
    const text = (await app.inject('/metrics')).body;
    for (const stat of ['p50', 'p99', 'max']) assert.match(text, new RegExp(`^event_loop_lag_seconds\\{stat="${stat}"\\} [\\d.e-]+$`, 'm'));
    await app.close();
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('buildApi() background tasks', () => {
  test('start when the app is ready and are aborted and awaited on close', async () => {
    const events: string[] = [];
    let seen: AbortSignal | undefined;
    const app = buildApi({
      ...quiet,
      background: [{
        name: 'worker',
        fn: async ({ signal }) => {
          seen = signal;
          events.push('started');
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          await turn();
          events.push('finished cleanup');
        },
      }],
    });
    assert.deepEqual(events, []);
    await app.ready();
    assert.deepEqual(events, ['started']);
    await app.close();
    assert.equal(seen?.aborted, true);
    assert.deepEqual(events, ['started', 'finished cleanup']);
  });

  test('a failing task does not take the server down', async () => {
    const app = buildApi({ ...quiet, background: [{ name: 'broken', fn: () => Promise.reject(new Error('no database')) }] });
    await app.ready();
    await turn();
    const res = await app.inject('/health');
    assert.equal(res.statusCode, 200);
    await app.close();
  });
});

describe('startApiServer()', () => {
  test('validates its options', async () => {
    await assert.rejects(startApiServer({ port: -1 }), InvalidArgumentError);
    assert.throws(() => buildApi({ bodyLimit: 0 }), InvalidArgumentError);
    assert.throws(() => buildApi({ graceMs: -5 }), InvalidArgumentError);
    assert.throws(() => buildApi({ delays: { slowDefault: 60_000 } }), /slowDefault/);
  });

  test('serves on a real socket and reports its url', async () => {
    await using server = await startApiServer(quiet);
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status, 'ok');
  });

  test('close() lets requests in flight finish (none lost), then refuses new connections', async () => {
    const clock = new VirtualClock();
    const server = await startApiServer({ ...quiet, clock });
    const agent = new Agent({ keepAlive: true });
    const replies = Array.from({ length: 5 }, () => get(`${server.url}/slow?delay=0.3`, agent));
    await until(() => clock.pendingTimers === 5);
    const closed = server.close();
    assert.equal(server.close(), closed);
    await clock.advance(300);
    const results = await Promise.all(replies);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200]);
    await closed;
    assert.equal(clock.pendingTimers, 0);
    const socket = connect(server.port, '127.0.0.1');
    const [error] = await once(socket, 'error');
    assert.equal((error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    agent.destroy();
  });

  test('after the grace period, requests still waiting are cut and close() resolves', async () => {
    const clock = new VirtualClock();
    const server = await startApiServer({ ...quiet, clock, graceMs: 1000 });
    const reply = get(`${server.url}/slow?delay=20`).then((r) => r.status, (e: NodeJS.ErrnoException) => e.code);
    await until(() => clock.pendingTimers === 1);
    const closed = server.close();
    await clock.advance(1000);
    await closed;
    const outcome = await reply;
    assert.ok(outcome === 503 || outcome === 'ECONNRESET', `got ${String(outcome)}`);
    assert.equal(clock.pendingTimers, 0);
  });

  test('a POST whose body has been read still gets its answer after a simulated delay', async () => {
    const clock = new VirtualClock();
    await using server = await startApiServer({ ...quiet, clock, delays: SEED_DELAYS });
    const reply = new Promise<Reply>((resolve, reject) => {
      const req = httpRequest(`${server.url}/echo`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end('{"n":1}');
    });
    await until(() => clock.pendingTimers === 1);
    await clock.advance(100);
    const res = await reply;
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body).received, { n: 1 });
  });

  test('destroy() cuts requests in flight at once, even during a close()', async () => {
    const clock = new VirtualClock();
    const server = await startApiServer({ ...quiet, clock });
    const reply = get(`${server.url}/slow?delay=20`).then((r) => r.status, (e: NodeJS.ErrnoException) => e.code);
    await until(() => clock.pendingTimers === 1);
    const closed = server.close();
    await server.destroy();
    await closed;
    const outcome = await reply;
    assert.ok(outcome === 503 || outcome === 'ECONNRESET', `got ${String(outcome)}`);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(clock.now(), 0);
  });

  test('a client that disconnects ends its /slow wait (no timer left behind)', async () => {
    const clock = new VirtualClock();
    await using server = await startApiServer({ ...quiet, clock });
    const req = httpRequest(`${server.url}/slow?delay=25`, { agent: false });
    req.on('error', () => {});
    req.end();
    await until(() => clock.pendingTimers === 1);
    req.destroy();
    await until(() => clock.pendingTimers === 0);
    const res = await get(`${server.url}/metrics`);
    assert.match(res.body, /^http_requests_total\{method="GET",route="\/slow",status="499"\} 1$/m);
  });

  test('aborting `signal` closes the server', async () => {
    const controller = new AbortController();
    const server = await startApiServer({ ...quiet, signal: controller.signal });
    const closed = once(server.app.server, 'close');
    controller.abort();
    await closed;
    await server.close();
    assert.equal(server.app.server.listening, false);
  });

  test('an already aborted `signal` closes the server at once', async () => {
    const server = await startApiServer({ ...quiet, signal: AbortSignal.abort() });
    await server.close();
    assert.equal(server.app.server.listening, false);
  });

  test('a port already in use rejects, and the background tasks it started are stopped', async () => {
    await using first = await startApiServer(quiet);
    let seen: AbortSignal | undefined;
    await assert.rejects(startApiServer({
      ...quiet,
      port: first.port,
      background: [{ name: 'probe', fn: ({ signal }) => new Promise((resolve) => {
        seen = signal;
        signal.addEventListener('abort', resolve, { once: true });
      }) }],
    }), { code: 'EADDRINUSE' });
    assert.equal(seen?.aborted, true);
  });

  test('close() stops the background tasks after the requests', async () => {
    const events: string[] = [];
    const server = await startApiServer({
      ...quiet,
      background: [{
        name: 'probe',
        fn: async ({ signal }) => {
          events.push('started');
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          events.push(`stopped (listening: ${server.app.server.listening})`);
        },
      }],
    });
    assert.deepEqual(events, ['started']);
    await server.close();
    assert.deepEqual(events, ['started', 'stopped (listening: false)']);
    assert.deepEqual(server.background.stats().map((s) => s.state), ['stopped']);
  });
});

describe('shutdown details and HTTP manners', () => {
  test('a wrong method on a known path is 405 with Allow (as aiohttp answers), an unknown path 404', async () => {
    const app = buildApi(quiet);
    const wrong = await app.inject({ method: 'GET', url: '/echo' });
    assert.equal(wrong.statusCode, 405);
    assert.equal(wrong.headers.allow, 'POST');
    const data = await app.inject({ method: 'DELETE', url: '/data/7?x=1' });
    assert.equal(data.statusCode, 405);
    assert.match(String(data.headers.allow), /GET/);
    assert.equal((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode, 404);
    await app.close();
  });

  test('close() does not wait the grace period for connections holding incomplete headers or idle', { timeout: 10_000 }, async () => {
    const clock = new VirtualClock();
    const server = await startApiServer({ ...quiet, clock, graceMs: 60_000 });
    const sockets = await Promise.all(Array.from({ length: 5 }, async (_, i) => {
      const s = connect(server.port, '127.0.0.1');
      s.on('error', () => {});
      await once(s, 'connect');
      // Three send half a request head; two send nothing at all.
      if (i < 3) s.write('GET /health HTTP/1.1\r\nHost: x\r\n');
      return s;
    }));
    const agent = new Agent({ keepAlive: true });
    assert.equal((await get(`${server.url}/health`, agent)).status, 200);
    // The clock never advances: close() resolves only if it does not wait for the grace timer.
    await server.close();
    for (const s of sockets) s.destroy();
    agent.destroy();
  });

  test('a response in flight at close() says Connection: close', async () => {
    const clock = new VirtualClock();
    const server = await startApiServer({ ...quiet, clock });
    const agent = new Agent({ keepAlive: true });
    const reply = get(`${server.url}/slow?delay=0.5`, agent);
    await until(() => clock.pendingTimers === 1);
    const closed = server.close();
    await clock.advance(500);
    const r = await reply;
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, 'close');
    await closed;
    agent.destroy();
  });
});

describe('shutdown: every request that reached the server is answered', () => {
  test('a request sent on a busy keep-alive connection after close() gets an answer, not a reset', async () => {
    const clock = new VirtualClock();
    const server = await startApiServer({ ...quiet, clock });
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(text)));
    socket.on('error', () => {});
    socket.write('GET /slow?delay=0.5 HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => clock.pendingTimers === 1);
    const closed = server.close();
    // The second request is on the wire while the first is in flight.
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    await turn();
    await clock.advance(500);
    const all = await ended;
    await closed;
    const statuses = [...all.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    assert.equal(statuses[0], 200);
    assert.equal(statuses.length, 2, `both requests answered:\n${all}`);
    assert.match(all.slice(all.lastIndexOf('HTTP/1.1')), /connection: close/i);
  });
});

describe('one registry for the service and what it uses', () => {
  test('a Pool given the API\'s registry shows its figures on /metrics beside the request metrics', async () => {
    const { MetricsRegistry } = await import('../../src/observe/registry.ts');
    const { Pool } = await import('../../src/pg/pool.ts');
    const registry = new MetricsRegistry();
    // No connection is made until a query: the pool's gauges exist from construction.
    const pool = new Pool({ url: 'postgres://postgres@127.0.0.1:1/none', max: 20, metrics: registry, name: 'users' });
    const app = buildApi({ registry, logger: false });
    try {
      await app.inject({ method: 'GET', url: '/health' });
      const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(text, /^spate_pg_connections_in_use\{pool="users"\} 0$/m);
      assert.match(text, /^spate_pg_acquire_waiting\{pool="users"\} 0$/m);
      assert.match(text, /^http_requests_total\{[^}]*route="\/health"[^}]*\} 1$/m);
    } finally {
      await app.close();
      await pool.close();
    }
  });
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, inflateSync, brotliDecompressSync } from 'node:zlib';
import { Client, request } from 'undici';
import { startLab, type Lab, POSTS_PER_USER } from '../../src/lab/index.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { client, json, timersAt } from './helpers.ts';

const { get, agent } = client();
let lab: Lab;

before(async () => {
  lab = await startLab({ seed: 1 });
});
after(async () => {
  await agent.close();
  await lab.close();
});

test('startLab() - listens on 127.0.0.1 on a free port and reports its URL', () => {
  assert.match(lab.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(lab.port > 0);
  assert.equal(lab.url, `http://127.0.0.1:${lab.port}`);
});

test('startLab() - rejects bad options with InvalidArgumentError', async () => {
  await assert.rejects(startLab({ port: -1 }), InvalidArgumentError);
  await assert.rejects(startLab({ port: 70_000 }), InvalidArgumentError);
  await assert.rejects(startLab({ seed: 1.5 }), InvalidArgumentError);
  await assert.rejects(startLab({ site: { pages: 0 } }), /pages/);
});

test('close() - is idempotent, destroys idle and busy sockets, clears timers, frees the port', async () => {
  const clock = new VirtualClock();
  const other = await startLab({ clock });
  const c = new Client(other.url);
  try {
    await (await c.request({ path: '/json', method: 'GET' })).body.text();
    const busy = c.request({ path: '/delay/100', method: 'GET' });
    busy.catch(() => {});
    await timersAt(clock, 1);
    await Promise.all([other.close(), other.close()]);
    await assert.rejects(busy, (e: Error & { code?: string }) => e.code === 'UND_ERR_SOCKET');
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(request(`${other.url}/json`), (e: Error & { code?: string }) => e.code === 'ECONNREFUSED');
  } finally {
    await c.close();
  }
});

test('Symbol.asyncDispose - closes the lab', async () => {
  let url: string;
  {
    await using scoped = await startLab();
    url = scoped.url;
    assert.equal((await get(`${url}/health`)).status, 200);
  }
  await assert.rejects(request(`${url}/health`), (e: Error & { code?: string }) => e.code === 'ECONNREFUSED');
});

test('keep-alive - sequential requests share one connection', async () => {
  const c = new Client(lab.url);
  let connects = 0;
  c.on('connect', () => connects++);
  try {
    for (let i = 0; i < 5; i++) {
      const res = await c.request({ path: i % 2 ? '/json' : '/users/1', method: 'GET' });
      assert.equal(res.headers.connection, 'keep-alive');
      await res.body.dump();
    }
    assert.equal(connects, 1);
  } finally {
    await c.close();
  }
});

test('/json and /health - fixed JSON documents', async () => {
  const j = await get(`${lab.url}/json`);
  assert.equal(j.status, 200);
  assert.equal(j.headers['content-type'], 'application/json');
  assert.equal((json(j) as { slideshow: { title: string } }).slideshow.title, 'Sample Slide Show');
  assert.deepEqual(json(await get(`${lab.url}/health`)), { status: 'ok' });
});

test('unknown paths - 404 with a JSON error', async () => {
  const r = await get(`${lab.url}/nope/nothing`);
  assert.equal(r.status, 404);
  assert.deepEqual(json(r), { error: 'Not Found', status: 404 });
});

test('/delay/:seconds - answers when the clock reaches the delay, fractional seconds allowed', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const res = await clock.run(get(`${vlab.url}/delay/1.5?x=1`));
  assert.equal(res.status, 200);
  assert.equal(clock.now(), 1500);
  assert.deepEqual((json(res) as { query: unknown }).query, { x: '1' });
  assert.equal(clock.pendingTimers, 0);
});

test('/delay/:seconds - is capped at 60 s and rejects bad values', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  await clock.run(get(`${vlab.url}/delay/3600`));
  assert.equal(clock.now(), 60_000);
  assert.equal((await get(`${vlab.url}/delay/-1`)).status, 400);
  assert.equal((await get(`${vlab.url}/delay/abc`)).status, 400);
});

test('/delay/:seconds - a client that disconnects clears the server timer', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const ac = new AbortController();
  const pending = get(`${vlab.url}/delay/30`, { signal: ac.signal });
  await timersAt(clock, 1);
  ac.abort();
  await assert.rejects(pending);
  for (let i = 0; clock.pendingTimers > 0 && i < 10_000; i++) await new Promise((r) => setImmediate(r));
  assert.equal(clock.pendingTimers, 0);
});

test('/status/:code - answers that status; 3xx carry Location; retry_after adds Retry-After', async () => {
  assert.equal((await get(`${lab.url}/status/204`)).status, 204);
  const t = await get(`${lab.url}/status/418`);
  assert.equal(t.status, 418);
  assert.match(t.body.toString(), /teapot/);
  const r = await get(`${lab.url}/status/302`);
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, '/redirect/1');
  const s = await get(`${lab.url}/status/503?retry_after=7`);
  assert.equal(s.status, 503);
  assert.equal(s.headers['retry-after'], '7');
  assert.equal((await get(`${lab.url}/status/99`)).status, 400);
  assert.equal((await get(`${lab.url}/status/abc`)).status, 400);
});

test('/status/:a,:b - picks among codes, the same sequence on two servers with one seed', async () => {
  await using a = await startLab({ seed: 9 });
  await using b = await startLab({ seed: 9 });
  const seq = async (url: string) => {
    const out: number[] = [];
    for (let i = 0; i < 20; i++) out.push((await get(`${url}/status/200,500`)).status);
    return out;
  };
  const sa = await seq(a.url);
  assert.deepEqual(sa, await seq(b.url));
  assert.ok(sa.includes(200) && sa.includes(500));
});

test('/bytes/:n - deterministic from the seed: equal across servers, differs with another seed', async () => {
  await using same = await startLab({ seed: 1 });
  await using other = await startLab({ seed: 2 });
  const a = await get(`${lab.url}/bytes/5000`);
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-length'], '5000');
  assert.equal(a.body.length, 5000);
  assert.deepEqual((await get(`${same.url}/bytes/5000`)).body, a.body);
  assert.notDeepEqual((await get(`${other.url}/bytes/5000`)).body, a.body);
  assert.deepEqual((await get(`${lab.url}/bytes/100`)).body, a.body.subarray(0, 100));
  assert.deepEqual((await get(`${other.url}/bytes/100?seed=1`)).body, a.body.subarray(0, 100));
  assert.equal((await get(`${lab.url}/bytes/x`)).status, 400);
});

test('/stream-bytes/:n - chunked, same bytes as /bytes/:n', async () => {
  const s = await get(`${lab.url}/stream-bytes/30000?chunk_size=4096`);
  assert.equal(s.headers['transfer-encoding'], 'chunked');
  assert.equal(s.headers['content-length'], undefined);
  assert.deepEqual(s.body, (await get(`${lab.url}/bytes/30000`)).body);  const tiny = await get(`${lab.url}/stream-bytes/3000?chunk_size=1`);
  assert.deepEqual(tiny.body, (await get(`${lab.url}/bytes/3000`)).body);
});

test('/drip - numbytes spread over duration after delay', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const r = await clock.run(get(`${vlab.url}/drip?numbytes=5&duration=1&delay=2&code=201`));
  assert.equal(r.status, 201);
  assert.equal(r.body.toString(), '*****');
  assert.equal(clock.now(), 2000 + 4 * 200);  const at0 = await clock.run(get(`${vlab.url}/drip?numbytes=3&duration=0`));
  assert.equal(at0.body.toString(), '***');
  assert.equal(clock.now(), 2800);
});

test('/anything and /echo - mirror method, path, query, headers and body', async () => {
  const r = await get(`${lab.url}/anything/deep/path?a=1&a=2&b=x`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test': 'yes' },
    body: JSON.stringify({ hello: 'world' }),
  });
  const m = json(r) as Record<string, unknown>;
  assert.equal(m.method, 'POST');
  assert.equal(m.path, '/anything/deep/path');
  assert.deepEqual(m.query, { a: ['1', '2'], b: 'x' });
  assert.equal((m.headers as Record<string, string>)['x-test'], 'yes');
  assert.equal(m.body, '{"hello":"world"}');
  assert.deepEqual(m.json, { hello: 'world' });
  const e = json(await get(`${lab.url}/echo`, { method: 'PUT', body: 'plain' })) as Record<string, unknown>;
  assert.equal(e.method, 'PUT');
  assert.equal(e.body, 'plain');
  assert.equal(e.json, null);
});

test('/get, /post - enforce their method', async () => {
  assert.equal((await get(`${lab.url}/get`)).status, 200);
  assert.equal((await get(`${lab.url}/post`)).status, 405);
  assert.equal((await get(`${lab.url}/post`, { method: 'POST', body: 'x' })).status, 200);
});

test('/headers - returns the request headers', async () => {
  const r = json(await get(`${lab.url}/headers`, { headers: { 'x-a': 'b' } })) as { headers: Record<string, string> };
  assert.equal(r.headers['x-a'], 'b');
});

test('/redirect/:n - n hops of 302, then /get; absolute=true gives absolute URLs', async () => {
  let path = '/redirect/3';
  const seen: string[] = [];
  for (;;) {
    const r = await get(`${lab.url}${path}`);
    if (r.status !== 302) {
      assert.equal(r.status, 200);
      break;
    }
    path = String(r.headers.location);
    seen.push(path);
  }
  assert.deepEqual(seen, ['/redirect/2', '/redirect/1', '/get']);
  const abs = await get(`${lab.url}/redirect/2?absolute=true`);
  assert.equal(abs.headers.location, `${lab.url}/redirect/1`);
  assert.equal((await get(`${lab.url}/redirect/0`)).status, 400);
});

test('/redirect-to - Location and status from the query', async () => {
  const r = await get(`${lab.url}/redirect-to?url=${encodeURIComponent('http://elsewhere.invalid/x')}&status_code=307`);
  assert.equal(r.status, 307);
  assert.equal(r.headers.location, 'http://elsewhere.invalid/x');
  assert.equal((await get(`${lab.url}/redirect-to?url=/x&status_code=200`)).status, 400);
  assert.equal((await get(`${lab.url}/redirect-to`)).status, 400);
});

test('/gzip, /deflate, /brotli - compressed JSON with Content-Encoding', async () => {
  const g = await get(`${lab.url}/gzip`);
  assert.equal(g.headers['content-encoding'], 'gzip');
  assert.equal((JSON.parse(gunzipSync(g.body).toString()) as { gzipped: boolean }).gzipped, true);
  const d = await get(`${lab.url}/deflate`);
  assert.equal(d.headers['content-encoding'], 'deflate');
  assert.equal((JSON.parse(inflateSync(d.body).toString()) as { deflated: boolean }).deflated, true);
  const b = await get(`${lab.url}/brotli`);
  assert.equal(b.headers['content-encoding'], 'br');
  assert.equal((JSON.parse(brotliDecompressSync(b.body).toString()) as { brotli: boolean }).brotli, true);
});

test('/users - ten users, details, posts, 404 for unknown ids, deterministic from the seed', async () => {
  const list = json(await get(`${lab.url}/users`)) as { id: number; name: string }[];
  assert.deepEqual(list.map((u) => u.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const u3 = json(await get(`${lab.url}/users/3`)) as { id: number; name: string; email: string };
  assert.equal(u3.id, 3);
  assert.deepEqual(u3, list[2]);
  const posts = json(await get(`${lab.url}/users/3/posts`)) as { id: number; userId: number }[];
  assert.equal(posts.length, POSTS_PER_USER);
  assert.ok(posts.every((p) => p.userId === 3));
  assert.deepEqual(json(await get(`${lab.url}/posts/${posts[0]?.id}`)), posts[0]);
  for (const bad of ['/users/0', '/users/11', '/users/abc', '/users/11/posts']) assert.equal((await get(`${lab.url}${bad}`)).status, 404, bad);
  await using same = await startLab({ seed: 1 });
  assert.deepEqual(json(await get(`${same.url}/users`)), list);
  await using other = await startLab({ seed: 2, users: 3 });
  const otherList = json(await get(`${other.url}/users`)) as unknown[];
  assert.equal(otherList.length, 3);
  assert.notDeepEqual(otherList, list.slice(0, 3));
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RobotsCache } from '../../src/crawl/robots.ts';
import { Session } from '../../src/http/session.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

let server: Server;
let origin: string;
let status = 200;
const body = 'User-agent: *\nDisallow: /private/\n\nUser-agent: spate-crawler\nDisallow: /no-spate/\nCrawl-delay: 2\nSitemap: http://example.com/sitemap.xml\n';
let hits = 0;

before(async () => {
  server = createServer((req, res) => {
    hits++;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? body : 'err');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function cache(clock?: VirtualClock) {
  const session = new Session({ retry: false, breaker: false, ...(clock ? { clock } : {}) });
  return { session, robots: new RobotsCache({ session, errorTtlMs: 1000, ...(clock ? { clock } : {}) }) };
}

test('RobotsCache - the group of our product token applies, with its Crawl-delay and the sitemaps', async () => {
  status = 200;
  const { session, robots } = cache();
  const rules = await robots.get(origin);
  assert.equal(rules.status, 'ok');
  assert.equal(rules.allowed(`${origin}/no-spate/x`), false);
  // The spate-crawler group replaces the * group: /private/ is allowed for us.
  assert.equal(rules.allowed(`${origin}/private/x`), true);
  assert.equal(rules.allowed(`${origin}/page`), true);
  assert.equal(rules.crawlDelay, 2);
  assert.deepEqual(rules.sitemaps, ['http://example.com/sitemap.xml']);
  await session.close();
});

test('RobotsCache - fetched once per origin, even by concurrent callers', async () => {
  status = 200;
  const { session, robots } = cache();
  hits = 0;
  const all = await Promise.all([robots.get(origin), robots.get(origin), robots.get(origin)]);
  await robots.get(origin);
  assert.equal(hits, 1);
  assert.equal(all[0], all[2]);
  await session.close();
});

test('RobotsCache - a 4xx robots.txt allows everything', async () => {
  status = 404;
  const { session, robots } = cache();
  const rules = await robots.get(origin);
  assert.equal(rules.status, 'missing');
  assert.equal(rules.allowed(`${origin}/anything`), true);
  status = 403;
  const { session: s2, robots: r2 } = cache();
  assert.equal((await r2.get(origin)).allowed(`${origin}/x`), true);
  await session.close();
  await s2.close();
});

test('RobotsCache - a 5xx (or 429) robots.txt disallows everything until errorTtlMs, then is fetched again', async () => {
  const clock = new VirtualClock();
  status = 503;
  const { session, robots } = cache(clock);
  hits = 0;
  const rules = await robots.get(origin);
  assert.equal(rules.status, 'unreachable');
  assert.equal(rules.httpStatus, 503);
  assert.equal(rules.allowed(`${origin}/x`), false);
  status = 200;
  assert.equal((await robots.get(origin)).status, 'unreachable');
  assert.equal(hits, 1);
  await clock.advance(1000);
  assert.equal((await robots.get(origin)).status, 'ok');
  assert.equal(hits, 2);
  status = 429;
  const { session: s2, robots: r2 } = cache();
  assert.equal((await r2.get(origin)).status, 'unreachable');
  await session.close();
  await s2.close();
});

test('RobotsCache - a network error counts as unreachable', async () => {
  const { session, robots } = cache();
  const rules = await robots.get('http://127.0.0.1:1');
  assert.equal(rules.status, 'unreachable');
  assert.equal(rules.httpStatus, undefined);
  await session.close();
});

test('RobotsCache - an aborted fetch rejects with the reason and is not cached', async () => {
  status = 200;
  const { session, robots } = cache();
  const controller = new AbortController();
  const reason = new Error('stop');
  controller.abort(reason);
  await assert.rejects(robots.get(origin, { signal: controller.signal }), (e) => e === reason);
  assert.equal((await robots.get(origin)).status, 'ok');
  await session.close();
});

test('RobotsCache - a robots.txt over 500 KiB: its first 500 KiB are parsed, the host is not disallowed', async () => {
  const big = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    // The rules first, then padding far past 500 KiB, then a rule that must not be seen.
    const pad = `# ${'x'.repeat(1022)}\n`.repeat(1024);
    res.end(`User-agent: *\nDisallow: /private/\n${pad}Disallow: /after-the-cut/\n`);
  });
  await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
  const bigOrigin = `http://127.0.0.1:${(big.address() as AddressInfo).port}`;
  const session = new Session({ retry: false, breaker: false });
  try {
    const rules = await new RobotsCache({ session }).get(bigOrigin);
    assert.equal(rules.status, 'ok');
    assert.equal(rules.allowed(`${bigOrigin}/page`), true);
    assert.equal(rules.allowed(`${bigOrigin}/private/x`), false);
    assert.equal(rules.allowed(`${bigOrigin}/after-the-cut/x`), true, 'rules past 500 KiB are ignored');
  } finally {
    await session.close();
    big.closeAllConnections();
    await new Promise((r) => big.close(r));
  }
});

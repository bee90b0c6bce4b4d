import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crawler, type CrawlerOptions, type CrawlStats, type PageRecord } from '../../src/crawl/crawler.ts';
import { SqliteCrawlStore } from '../../src/crawl/store.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { Session } from '../../src/http/session.ts';
import { pageDepth, pageTitle, siteCounts, siteSpec, startLab, type Lab } from '../../src/lab/index.ts';

let lab: Lab;
let dir: string;
before(async () => {
  lab = await startLab({ seed: 1, site: { pages: 60 } });
  dir = mkdtempSync(join(tmpdir(), 'spate-crawl-'));
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

async function crawl(site: string, options: Partial<CrawlerOptions> = {}): Promise<{ records: PageRecord[]; summary: Awaited<ReturnType<Crawler['run']>> }> {
  const store = SqliteCrawlStore.open(':memory:');
  try {
    const crawler = new Crawler({ seeds: [`${lab.url}/site/${site}/`], store, ...options });
    const summary = await crawler.run();
    const records = store.records(0, 1_000_000).map((r) => JSON.parse(r.record) as PageRecord);
    return { records, summary };
  } finally {
    store.close();
  }
}

function byUrl(records: PageRecord[]): Map<string, PageRecord> {
  const map = new Map<string, PageRecord>();
  for (const r of records) {
    assert.ok(!map.has(r.url), `recorded twice: ${r.url}`);
    map.set(r.url, r);
  }
  return map;
}

test('Crawler - the default site: every page, redirect, broken link and document exactly once, robots Disallow honoured', async () => {
  const counts = siteCounts(siteSpec({ pages: 60 }, 1));
  const { records, summary } = await crawl('default');
  const map = byUrl(records);
  assert.equal(records.length, counts.urlsAllowed - counts.nofollow - counts.nofollowDeep);
  assert.equal(summary.blocked, counts.private);
  const html = records.filter((r) => r.status === 200 && r.contentType?.startsWith('text/html'));
  assert.equal(html.length, counts.pages);
  assert.equal(records.filter((r) => r.status === 301 || r.status === 302).length, counts.redirects + counts.redirectLoop);
  assert.equal(records.filter((r) => r.status === 404).length, counts.broken);
  assert.equal(records.filter((r) => r.contentType === 'application/pdf').length, counts.documents);
  assert.equal(summary.failed, counts.broken);
  assert.equal(summary.done, records.length - counts.broken);
  assert.equal(records.filter((r) => r.url.includes('/private/') || r.url.includes('/nofollow/')).length, 0);
  const spec = siteSpec({ pages: 60 }, 1);
  for (let i = 0; i < spec.pages; i++) {
    const url = i === 0 ? `${lab.url}/site/default/` : `${lab.url}/site/default/page/${i}`;
    const r = map.get(url);
    assert.ok(r, url);
    assert.equal(r.depth, pageDepth(spec, i), url);
    assert.equal(r.title, pageTitle(spec, i), url);
  }
  const loop = map.get(`${lab.url}/site/default/loop/a`);
  assert.equal(loop?.redirectTo, `${lab.url}/site/default/loop/b`);
  assert.equal(summary.interrupted, false);
});

test('Crawler - followNofollow and respectRobots: false reach the nofollow and private pages', async () => {
  const counts = siteCounts(siteSpec({ pages: 60 }, 1));
  const { records } = await crawl('default', { followNofollow: true, respectRobots: false });
  byUrl(records);
  assert.equal(records.length, counts.urlsAllowed + counts.private);
});

test('Crawler - maxDepth stops at that level, with the exact count per level', async () => {
  const spec = siteSpec({ pages: 200, fanout: 4, links: 6, extras: false }, 1);
  const counts = siteCounts(spec);
  const { records } = await crawl('pages=200,fanout=4,links=6,extras=0', { maxDepth: 2 });
  byUrl(records);
  const perDepth: number[] = [];
  for (const r of records) perDepth[r.depth] = (perDepth[r.depth] ?? 0) + 1;
  assert.deepEqual(perDepth, counts.pagesPerDepth.slice(0, 3));
  const all = await crawl('pages=200,fanout=4,links=6,extras=0');
  assert.equal(all.records.length, 200);
});

test('Crawler - maxPages fetches exactly that many pages, shallowest first', async () => {
  const { records, summary } = await crawl('pages=200,extras=0', { maxPages: 31, concurrency: 1 });
  assert.equal(records.length, 31);
  assert.equal(summary.pages, 31);
  assert.ok(summary.queued > 0);
  // One at a time, strictly breadth-first: 1 + 5 + 25 pages in the first three levels.
  assert.deepEqual(records.map((r) => r.depth), [0, ...Array(5).fill(1), ...Array(25).fill(2)]);
  // Concurrent: still exactly 31, and mostly shallow (a level may start before the last ends).
  const wide = await crawl('pages=200,extras=0', { maxPages: 31, concurrency: 8 });
  assert.equal(wide.records.length, 31);
  assert.ok(wide.records.every((r) => r.depth <= 3));
});

test('Crawler - include and exclude patterns choose the links followed (seeds are exempt)', async () => {
  const only = await crawl('pages=60,extras=0,links=0', { include: [/\/page\/[1-5]$/] });
  assert.deepEqual(only.records.map((r) => r.url.replace(/.*\/site\/[^/]+\//, '')).sort(), ['', 'page/1', 'page/2', 'page/3', 'page/4', 'page/5']);
  const without = await crawl('pages=60,extras=0,links=0', { exclude: [/\/page\/1\d*$/] });
  const urls = without.records.map((r) => r.url);
  assert.ok(urls.every((u) => !/\/page\/1\d*$/.test(u)));
  // Page 1's subtree (6…10, 31…55) is reached only through page 1.
  assert.ok(!urls.some((u) => u.endsWith('/page/7')));
  assert.ok(urls.some((u) => u.endsWith('/page/2')));
});

test('Crawler - the calendar trap is bounded by maxPagesPerHost', async () => {
  const { records } = await crawl('pages=10,extras=0,calendar=1', { maxPagesPerHost: 40 });
  byUrl(records);
  assert.equal(records.length, 40);
  assert.equal(records.filter((r) => r.url.includes('/calendar/')).length, 30);
});

test('Crawler - URLs longer than maxUrlLength are not followed', async () => {
  const base = `${lab.url}/site/pages=30,extras=0/`;
  const { records } = await crawl('pages=30,extras=0', { maxUrlLength: base.length + 'page/9'.length });
  assert.ok(records.length > 1);
  assert.ok(records.every((r) => r.url.length <= base.length + 6));
  assert.ok(!records.some((r) => r.url.endsWith('/page/10')));
});

test('Crawler - a redirect is a record of its own; its target is queued once, and maxRedirects bounds the hops', async () => {
  const { records } = await crawl('pages=20', { maxRedirects: 0 });
  const map = byUrl(records);
  const r = map.get(`${lab.url}/site/pages=20/r/3`);
  assert.equal(r?.status, 301);
  assert.equal(r?.redirectTo, `${lab.url}/site/pages=20/page/3`);
  assert.equal(r?.error, 'more than 0 redirects');
  assert.equal(map.get(`${lab.url}/site/pages=20/loop/b`), undefined);
});

test('Crawler - onPage sees the body and can enqueue links; the seeds\' scrape_site in a few lines', async () => {
  const titles: string[] = [];
  const { records } = await crawl('pages=30,extras=0', {
    maxDepth: 0,
    onPage(page, { enqueue }) {
      titles.push(`${page.title}:${/<h1>([^<]*)<\/h1>/.exec(page.text())?.[1] ?? ''}`);
      assert.ok(page.body && page.body.length === page.bytes);
      if (page.depth === 0) enqueue('page/29');
    },
  });
  // maxDepth 0 keeps the enqueued page out; the hook ran on the seed.
  assert.equal(records.length, 1);
  assert.deepEqual(titles, ['Page 0:Page 0']);
  const deeper = await crawl('pages=30,extras=0', {
    maxDepth: 1,
    include: [/\/page\/29$/],
    onPage(page, { enqueue }) {
      if (page.depth === 0) enqueue('page/29');
    },
  });
  assert.deepEqual(deeper.records.map((r) => r.url.replace(/.*\/site\/[^/]+\//, '')), ['', 'page/29']);
});

test('Crawler - a failing onPage fails that page only', async () => {
  const { records, summary } = await crawl('pages=6,extras=0', {
    onPage(page) {
      if (page.url.endsWith('/page/2')) throw new Error('boom');
    },
  });
  assert.equal(records.length, 6);
  assert.equal(summary.failed, 1);
  assert.match(records.find((r) => r.url.endsWith('/page/2'))?.error ?? '', /boom/);
});

test('Crawler - stopped by its signal, it puts pages back; run again on the same state, every page once', async () => {
  const state = join(dir, 'stop.sqlite');
  const output = join(dir, 'stop.jsonl');
  const controller = new AbortController();
  let seen = 0;
  const first = new Crawler({
    seeds: [`${lab.url}/site/pages=150,extras=0,latency=5/`],
    statePath: state,
    output,
    concurrency: 8,
    signal: controller.signal,
    onPage() {
      if (++seen === 20) controller.abort(new Error('stop'));
    },
  });
  const s1 = await first.run();
  assert.equal(s1.interrupted, true);
  assert.ok(s1.pages >= 19 && s1.pages < 150, String(s1.pages));
  const store = SqliteCrawlStore.open(state);
  assert.equal(store.counts().inFlight, 0);
  store.close();
  const second = await new Crawler({ seeds: [`${lab.url}/site/pages=150,extras=0,latency=5/`], statePath: state, output, concurrency: 8 }).run();
  assert.equal(second.interrupted, false);
  assert.equal(second.pages, 150);
  const urls = readFileSync(output, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as PageRecord).url);
  assert.equal(urls.length, 150);
  assert.equal(new Set(urls).size, 150);
});

test('Crawler - progress() yields snapshots and ends with the crawl', async () => {
  const store = SqliteCrawlStore.open(':memory:');
  const crawler = new Crawler({ seeds: [`${lab.url}/site/pages=40,extras=0/`], store });
  const done = crawler.run();
  const snaps: CrawlStats[] = [];
  for await (const s of crawler.progress(5)) snaps.push(s);
  const summary = await done;
  store.close();
  assert.ok(snaps.length >= 1);
  assert.equal(snaps.at(-1)?.pages, 40);
  assert.equal(summary.pages, 40);
  assert.ok(snaps.every((s, i) => i === 0 || s.pages >= snaps[i - 1]!.pages));
});

test('Crawler - Crawl-delay spaces the requests to a host', async () => {
  // Real time (the server sees real arrivals): 0.15 s between 4 requests, checked with a wide margin.
  const arrivals: number[] = [];
  const server = createServer((req, res) => {
    if (req.url === '/robots.txt') {
      res.end('User-agent: *\nCrawl-delay: 0.15\n');
      return;
    }
    arrivals.push(performance.now());
    const n = Number(req.url?.slice(1) || 0);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(n < 3 ? `<a href="/${n + 1}">next</a><a href="/${n + 2}">skip</a>` : 'end');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const store = SqliteCrawlStore.open(':memory:');
    await new Crawler({ seeds: [`http://127.0.0.1:${(server.address() as AddressInfo).port}/`], store, concurrency: 4, perHostConcurrency: 4 }).run();
    store.close();
    assert.equal(arrivals.length, 5);
    for (let i = 1; i < arrivals.length; i++) assert.ok(arrivals[i]! - arrivals[i - 1]! >= 100, `gap ${i}: ${arrivals[i]! - arrivals[i - 1]!}`);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('Crawler - scope prefix keeps the crawl under the seed\'s directory', async () => {
  const store = SqliteCrawlStore.open(':memory:');
  await new Crawler({ seeds: [`${lab.url}/site/pages=30,extras=0/page/3`], store, scope: 'prefix' }).run();
  const urls = store.records(0, 1000).map((r) => (JSON.parse(r.record) as PageRecord).url);
  store.close();
  assert.ok(urls.length > 5);
  assert.ok(urls.every((u) => u.startsWith(`${lab.url}/site/pages=30,extras=0/page/`)), urls.join(' '));
});

test('Crawler - an unreachable robots.txt (5xx) fails the host\'s pages, with the reason', async () => {
  let pages = 0;
  const server = createServer((req, res) => {
    if (req.url === '/robots.txt') {
      res.writeHead(503);
      res.end();
      return;
    }
    pages++;
    res.end('<a href="/x">x</a>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const store = SqliteCrawlStore.open(':memory:');
    await using session = new Session({ retry: false });
    const summary = await new Crawler({ seeds: [`http://127.0.0.1:${(server.address() as AddressInfo).port}/`], store, session }).run();
    const [record] = store.records(0, 10).map((r) => JSON.parse(r.record) as PageRecord);
    store.close();
    assert.equal(summary.failed, 1);
    assert.equal(pages, 0);
    assert.match(record?.error ?? '', /robots\.txt unreachable \(HTTP 503\)/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('Crawler - options are checked at construction', () => {
  assert.throws(() => new Crawler({ seeds: [] }), InvalidArgumentError);
  assert.throws(() => new Crawler({ seeds: ['ftp://x/'] }), /http\(s\) URLs/);
  assert.throws(() => new Crawler({ seeds: ['http://x/'], concurrency: 0 }), /concurrency/);
  assert.throws(() => new Crawler({ seeds: ['http://x/'], scope: 'world' as 'prefix' }), /scope/);
  assert.throws(() => new Crawler({ seeds: ['http://x/'], include: ['x' as unknown as RegExp] }), /include/);
});

test('Crawler - a commit that fails (disk full, say) ends run() with that error, never an uncaught throw', async () => {
  const inner = SqliteCrawlStore.open(':memory:');
  const diskFull = Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR' });
  let failed = 0;
  // A commit made by the flush timer fails: no caller is there to catch it, so the crawler must.
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'commit') {
        return (...args: Parameters<SqliteCrawlStore['commit']>) => {
          if (/listOnTimeout/.test(new Error().stack ?? '')) {
            failed++;
            throw diskFull;
          }
          return target.commit(...args);
        };
      }
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  try {
    // Pages take 30 ms, so the 5 ms flush timer fires while every worker is still fetching.
    const crawler = new Crawler({ seeds: [`${lab.url}/site/pages=50,fanout=5,latency=30/`], store, concurrency: 4, batchSize: 1000, flushMs: 5 });
    await assert.rejects(crawler.run(), (e) => e === diskFull);
    assert.ok(failed >= 1);
  } finally {
    inner.close();
  }
});

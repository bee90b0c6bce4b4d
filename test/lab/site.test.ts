import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLab, siteCounts, siteSpec, pageDepth, pageTitle, type Lab } from '../../src/lab/index.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { client, type Got } from './helpers.ts';

const { get, agent } = client();
let lab: Lab;

before(async () => {
  lab = await startLab({ seed: 1, site: { pages: 60 }, crawlDelay: 0.5 });
});
after(async () => {
  await agent.close();
  await lab.close();
});

function canonical(href: string, base: string): URL | undefined {
  let u: URL;
  try {
    u = new URL(href.replace(/&amp;/g, '&'), base);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:') return undefined;
  u.hash = '';
  for (const k of [...u.searchParams.keys()]) if (k.startsWith('utm_')) u.searchParams.delete(k);
  u.search = u.searchParams.toString();
  return u;
}

function decode(r: Got): string {
  const charset = /charset=([^;]+)/.exec(String(r.headers['content-type']))?.[1] ?? 'utf-8';
  return new TextDecoder(charset).decode(r.body);
}

interface Crawl {
  pages: Map<string, number>;
  redirects: Set<string>;
  broken: Set<string>;
  other: Set<string>;
  disallowed: Set<string>;
  titles: Map<string, string>;
}

/** A tiny BFS crawler: same origin, robots Disallow /private/, <base href>, redirects by hand. */
async function crawl(start: string, useBase = true): Promise<Crawl> {
  const origin = new URL(start).origin;
  const seen = new Set<string>([start]);
  const queue: { url: string; depth: number }[] = [{ url: start, depth: 0 }];
  const out: Crawl = { pages: new Map(), redirects: new Set(), broken: new Set(), other: new Set(), disallowed: new Set(), titles: new Map() };
  const add = (u: URL | undefined, depth: number) => {
    if (u === undefined || u.origin !== origin) return;
    const s = u.href;
    if (seen.has(s)) return;
    seen.add(s);
    if (u.pathname.startsWith('/private/')) {
      out.disallowed.add(s);
      return;
    }
    queue.push({ url: s, depth });
  };
  for (let i = 0; i < queue.length; i++) {
    const item = queue[i]!;
    const r = await get(item.url);
    if (r.status >= 300 && r.status < 400) {
      out.redirects.add(item.url);
      add(canonical(String(r.headers.location), item.url), item.depth);
      continue;
    }
    if (r.status === 404) {
      out.broken.add(item.url);
      continue;
    }
    assert.equal(r.status, 200, item.url);
    if (!String(r.headers['content-type']).startsWith('text/html')) {
      out.other.add(item.url);
      continue;
    }
    out.pages.set(item.url, item.depth);
    const html = decode(r);
    out.titles.set(item.url, /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? '');
    const base = useBase ? /<base href="([^"]+)"/.exec(html)?.[1] ?? item.url : item.url;
    for (const m of html.matchAll(/<a\s+href=(?:"([^"]*)"|([^\s>]+))/gi)) add(canonical(m[1] ?? m[2] ?? '', base), item.depth + 1);
  }
  return out;
}

test('site - a BFS reaches exactly the pages, redirects, broken links and documents siteCounts gives', async () => {
  const spec = siteSpec({ pages: 60 }, 1);
  const counts = siteCounts(spec);
  const c = await crawl(`${lab.url}/site/default/`);
  // Every HTML page: the tree, plus the nofollow leaves behind rel=nofollow.
  assert.equal(c.pages.size, counts.pages + counts.nofollow + counts.nofollowDeep);
  assert.equal(c.redirects.size, counts.redirects + counts.redirectLoop);
  assert.equal(c.broken.size, counts.broken);
  assert.equal(c.other.size, counts.documents);
  assert.equal(c.disallowed.size, counts.private);
  assert.equal(c.pages.size + c.redirects.size + c.broken.size + c.other.size, counts.urlsAllowed);
  for (let i = 0; i < spec.pages; i++) {
    const url = i === 0 ? `${lab.url}/site/default/` : `${lab.url}/site/default/page/${i}`;
    assert.equal(c.pages.get(url), pageDepth(spec, i), url);
    assert.equal(c.titles.get(url), pageTitle(spec, i), url);
  }
});

test('site - without extras, exactly N pages, and the depths per level match', async () => {
  const spec = siteSpec({ pages: 200, fanout: 4, links: 6, extras: false }, 1);
  const c = await crawl(`${lab.url}/site/pages=200,fanout=4,links=6,extras=0/`);
  assert.equal(c.pages.size, 200);
  assert.equal(c.redirects.size + c.broken.size + c.other.size + c.disallowed.size, 0);
  const perDepth: number[] = [];
  for (const d of c.pages.values()) perDepth[d] = (perDepth[d] ?? 0) + 1;
  assert.deepEqual(perDepth, siteCounts(spec).pagesPerDepth);
  assert.deepEqual(perDepth, [1, 4, 16, 64, 115]);
});

test('site - depth= picks the fanout that fits the pages in that depth', async () => {
  const spec = siteSpec({ pages: 1000, depth: 3 }, 1);
  assert.equal(spec.fanout, 10);
  assert.equal(siteCounts(spec).maxDepth, 3);
  const c = await crawl(`${lab.url}/site/pages=40,depth=2,extras=0/`);
  assert.equal(c.pages.size, 40);
  assert.equal(Math.max(...c.pages.values()), 2);
});

test('site - links that differ only by fragment, dot segments, utm_* or host case are duplicates', async () => {
  const r = await get(`${lab.url}/site/default/page/2`);
  const html = decode(r);
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1] ?? '');
  for (const needle of ['#top', '/./', '/x/../', 'utm_source=']) assert.ok(hrefs.some((h) => h.includes(needle)), needle);
  const variants = hrefs.filter((h) => /#top|\/\.\/|\/x\/\.\.\/|utm_/.test(h));
  assert.equal(variants.length, 4);
  const canon = new Set(variants.map((h) => canonical(h, `${lab.url}/site/default/page/2`)?.href));
  assert.deepEqual([...canon], [`${lab.url}/site/default/`]);
});

test('site - <base href> pages resolve only with the base', async () => {
  const page = `${lab.url}/site/default/page/4`;
  const html = decode(await get(page));
  assert.match(html, /<base href="http:\/\/127\.0\.0\.1:\d+\/site\/default\/">/);
  const child = /href="(page\/\d+)"/.exec(html)?.[1];
  assert.ok(child !== undefined);
  assert.equal((await get(new URL(child, `${lab.url}/site/default/`).href)).status, 200);
  assert.equal((await get(new URL(child, page).href)).status, 404);
});

test('site - windows-1252 pages say so in the header and the meta, and decode to their title', async () => {
  const r = await get(`${lab.url}/site/default/page/16`);
  assert.equal(r.headers['content-type'], 'text/html; charset=windows-1252');
  assert.ok(r.body.includes(0xe9) && r.body.includes(0x96));
  const html = new TextDecoder('windows-1252').decode(r.body);
  assert.match(html, /<meta charset="windows-1252">/);
  assert.match(html, /<title>Café 16 – naïve<\/title>/);
});

test('site - robots.txt disallows /private/ and carries Crawl-delay and the sitemap', async () => {
  for (const path of ['/robots.txt', '/site/robots.txt']) {
    const text = (await get(`${lab.url}${path}`)).body.toString();
    assert.match(text, /^User-agent: \*$/m);
    assert.match(text, /^Disallow: \/private\/$/m);
    assert.match(text, /^Crawl-delay: 0\.5$/m);
    assert.match(text, new RegExp(`^Sitemap: ${lab.url}/site/default/sitemap.xml$`, 'm'));
  }
  await using plain = await startLab();
  assert.doesNotMatch((await get(`${plain.url}/robots.txt`)).body.toString(), /Crawl-delay/);
  assert.equal((await get(`${lab.url}/private/default/9`)).status, 200);
});

test('site - sitemap.xml lists every page once', async () => {
  const xml = (await get(`${lab.url}/site/pages=30/sitemap.xml`)).body.toString();
  const locs = [...xml.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => m[1]);
  assert.equal(locs.length, 30);
  assert.equal(new Set(locs).size, 30);
  assert.equal(locs[0], `${lab.url}/site/pages=30/`);
});

test('site - the calendar trap links to the next month forever', async () => {
  const home = decode(await get(`${lab.url}/site/pages=10,calendar=1/`));
  assert.match(home, /href="\/site\/pages=10,calendar=1\/calendar\/2026\/11"/);
  let url = `${lab.url}/site/pages=10,calendar=1/calendar/2026/11`;
  for (let i = 0; i < 30; i++) {
    const r = await get(url);
    assert.equal(r.status, 200);
    url = new URL(/href="([^"]+)">Next month/.exec(decode(r))?.[1] ?? '', url).href;
  }
  assert.ok(url.endsWith('/calendar/2029/5'));
  assert.equal((await get(`${lab.url}/site/default/calendar/2026/11`)).status, 404);
});

test('site - redirects, loop, broken links and documents answer as declared', async () => {
  const r = await get(`${lab.url}/site/default/r/13`);
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, '/site/default/page/13');
  assert.equal((await get(`${lab.url}/site/default/loop/a`)).headers.location, '/site/default/loop/b');
  assert.equal((await get(`${lab.url}/site/default/loop/b`)).headers.location, '/site/default/loop/a');
  assert.equal((await get(`${lab.url}/site/default/missing/5`)).status, 404);
  const doc = await get(`${lab.url}/site/default/doc/7.pdf`);
  assert.equal(doc.headers['content-type'], 'application/pdf');
  assert.equal(doc.body.subarray(0, 5).toString(), '%PDF-');
  assert.equal((await get(`${lab.url}/site/default/page/60`)).status, 404);
  assert.equal((await get(`${lab.url}/site/default/page/0`)).status, 301);
  assert.equal((await get(`${lab.url}/site/bogus=1/`)).status, 404);
  assert.equal((await get(`${lab.url}/site/pages=0/`)).status, 404);
});

test('site - bytes= pads pages, latency= delays every answer on the clock', async () => {
  const big = await get(`${lab.url}/site/pages=5,bytes=20000/page/1`);
  assert.ok(big.body.length >= 20_000 - 20 && big.body.length < 20_100, String(big.body.length));
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock });
  const r = await clock.run(get(`${vlab.url}/site/latency=50/page/3`));
  assert.equal(r.status, 200);
  assert.equal(clock.now(), 50);
});

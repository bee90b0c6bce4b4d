import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crawler, type PageRecord } from '../../src/crawl/crawler.ts';
import { PROFILES, profileFile, profileSite, writeProfileSite, type ProfileSite } from '../../src/lab/profiles.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spate-profiles-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function serve(site: ProfileSite): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const f = profileFile(site, req.url ?? '/');
    res.writeHead(f.status, { 'content-type': f.type, 'content-length': f.body.length });
    res.end(f.body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

test('profileSite - the same arguments give the same bytes; another seed other bytes', () => {
  const a = profileSite('docs', { pages: 60, seed: 7 });
  const b = profileSite('docs', { pages: 60, seed: 7 });
  const c = profileSite('docs', { pages: 60, seed: 8 });
  assert.deepEqual(a.files.map((f) => f.body.toString('base64')), b.files.map((f) => f.body.toString('base64')));
  assert.notDeepEqual(a.files.map((f) => f.body.toString('base64')), c.files.map((f) => f.body.toString('base64')));
});

test('profileSite - exact page counts, and the shapes docs/lab.md promises', () => {
  const docs = profileSite('docs');
  const blog = profileSite('blog');
  assert.equal(docs.pages.length, 2000);
  assert.equal(blog.pages.length, 1000);
  for (const site of [docs, blog]) {
    assert.equal(site.pagesPerDepth.reduce((a, b) => a + b, 0), site.pages.length);
    assert.equal(new Set(site.pages.map((p) => p.url)).size, site.pages.length);
  }
  const html = (site: ProfileSite) => site.files.slice(0, site.pages.length).map((f) => f.body);
  const docSizes = html(docs).map((b) => b.length);
  assert.ok(Math.min(...docSizes) >= 5 * 1024 && Math.max(...docSizes) <= 64 * 1024, 'docs pages are 5–64 KB');
  const sidebar = html(docs).map((b) => (b.toString('latin1').match(/class="toc-l[12]/g) ?? []).length);
  assert.ok(Math.min(...sidebar) >= 60 && Math.max(...sidebar) <= 300, `sidebar links ${Math.min(...sidebar)}–${Math.max(...sidebar)}`);
  assert.ok(sidebar.filter((n) => n >= 100).length > sidebar.length / 2, 'most sidebars hold 100 links or more');
  const texts = html(docs).map((b) => b.toString('latin1'));
  assert.ok(texts.filter((t) => t.startsWith('<?xml')).length > 50, 'some pages are XHTML with a prolog');
  assert.ok(texts.some((t) => /charset=windows-1252/.test(t)), 'some pages declare a legacy charset');
  assert.ok(docs.pages.some((p) => /[&<]/.test(p.title)), 'some titles need entities');
  const blogTexts = html(blog).map((b) => b.toString('latin1'));
  const blogMean = blogTexts.reduce((n, t) => n + t.length, 0) / blogTexts.length;
  const docsMean = texts.reduce((n, t) => n + t.length, 0) / texts.length;
  assert.ok(blogMean > docsMean, 'blog pages are larger');
  assert.ok(blogTexts.some((t) => (t.match(/rel="[^"]*nofollow/g) ?? []).length > 20), 'posts hold many nofollow links');
  assert.ok(blog.pages.some((p) => p.url.includes('?page=')), 'pagination by query string');
});

test('writeProfileSite - writes every file', async () => {
  const site = profileSite('blog', { pages: 50 });
  const out = join(dir, 'blog');
  assert.equal(await writeProfileSite(site, out), site.files.length);
  assert.deepEqual(readFileSync(join(out, site.files[0]!.path)), site.files[0]!.body);
  assert.ok(readdirSync(out).includes('robots.txt'));
});

for (const name of PROFILES) {
  test(`Crawler - finds exactly the ${name} profile's pages, with their titles and depths`, async () => {
    const site = profileSite(name, { pages: name === 'docs' ? 300 : 200, seed: 3 });
    const { url, server } = await serve(site);
    try {
      const output = join(dir, `${name}.jsonl`);
      const summary = await new Crawler({ seeds: [`${url}/`], statePath: join(dir, `${name}.sqlite`), output, concurrency: 8 }).run();
      assert.equal(summary.done, site.pages.length);
      assert.equal(summary.failed, 0);
      const records = readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PageRecord);
      const got = new Map(records.map((r) => [r.url.slice(url.length), r]));
      assert.equal(got.size, records.length, 'each page once');
      for (const p of site.pages) {
        const r = got.get(p.url);
        assert.ok(r, `crawled ${p.url}`);
        assert.equal(r.title, p.title, p.url);
        assert.equal(r.depth, p.depth, p.url);
      }
      assert.equal(got.size, site.pages.length);
    } finally {
      server.close();
    }
  });
}

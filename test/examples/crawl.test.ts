// Each crawl example of the seeds runs as a program, as a user would run it, and its output is
// checked. The examples start their own lab on port 0 and stop by themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = async (name: string): Promise<string> => {
  const file = fileURLToPath(new URL(`../../examples/crawl/${name}`, import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 30_000 });
  return stdout;
};

test('examples/crawl/scrape-site - depth 1 from the home page, redirects shown, the same output every run', async () => {
  const out = await run('scrape-site.ts');
  assert.deepEqual(out.trim().split('\n'), [
    'depth 0  200  /site/default/  "Page 0"',
    'depth 1  302  /site/default/loop/a  → /site/default/loop/b',
    'depth 1  302  /site/default/loop/b  → /site/default/loop/a',
    'depth 1  200  /site/default/page/1  "Page 1"',
    'depth 1  200  /site/default/page/2  "Page 2"',
    'depth 1  200  /site/default/page/3  "Page 3"',
    'depth 1  200  /site/default/page/4  "Page 4"',
    'depth 1  200  /site/default/page/5  "Page 5"',
    'Scraped 8 pages (0 failed, 0 blocked by robots.txt)',
  ]);
  assert.equal(await run('scrape-site.ts'), out);
});

test('examples/crawl/extract-data - data from each page, only child links followed, two levels deep', async () => {
  const out = await run('extract-data.ts');
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 32);
  assert.match(lines[0]!, /^\/site\/pages=40,extras=0\/ +Page 0 +8 links$/);
  assert.match(lines[30]!, /^\/site\/pages=40,extras=0\/page\/30 +Page 30 +5 links$/);
  assert.equal(lines[31], '31 pages scraped');
});

test('examples/crawl/producer-consumer - three consumers and a visited set reach every page once', async () => {
  const out = await run('producer-consumer.ts');
  const lines = out.trim().split('\n');
  assert.equal(lines.length, 26);
  assert.equal(lines[0], '/site/pages=25,extras=0/  "Page 0"');
  assert.equal(lines[24], '/site/pages=25,extras=0/page/24  "Page 24"');
  assert.equal(lines[25], 'Scraped 25 unique URLs');
});

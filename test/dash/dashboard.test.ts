// The live dashboard of a real crawl of the lab, in Chromium: it draws every chart, updates while
// the crawl runs, and ends with the crawl's own figures.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Crawler } from '../../src/crawl/crawler.ts';
import { startDashboard } from '../../src/dash/server.ts';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { MetricsRegistry } from '../../src/observe/registry.ts';
import { type Browser, cardFigures, chartFigures, launch, skipReason } from './browser.ts';

const shots = fileURLToPath(new URL('../../tmp/', import.meta.url));
const docs = fileURLToPath(new URL('../../docs/', import.meta.url));
const skip = skipReason();
let lab: Lab;
let browser: Browser | undefined;

before(async () => {
  lab = await startLab({ seed: 1 });
  mkdirSync(shots, { recursive: true });
  if (skip === undefined) browser = await launch();
});
after(async () => {
  await browser?.close();
  await lab.close();
});

const cardNumber = (text: string | undefined) => Number((text ?? '').split(' ')[0]!.replace(/,/g, ''));

test('the live dashboard of a crawl draws every chart, updates while the crawl runs, and ends with its figures', { skip }, async () => {
  const registry = new MetricsRegistry();
  await using dash = await startDashboard({ registry, title: 'spate crawl (lab)', intervalMs: 250 });
  // ~400 pages at 25 ms each, 4 at a time: a few seconds, so several frames arrive mid-crawl.
  const crawler = new Crawler({ seeds: [`${lab.url}/site/pages=400,latency=25/`], registry, concurrency: 4, perHostConcurrency: 4 });
  const { page, errors } = await browser!.page();
  await page.goto(dash.url);
  await page.waitForFunction(() => (globalThis as any).document.getElementById('status').textContent === 'live');

  let finished = false;
  const running = crawler.run().finally(() => (finished = true));
  const pagesShown = () => page.evaluate(() => (globalThis as any).document.querySelector('[data-figure="total:crawl pages"]')?.textContent ?? '0');
  await page.waitForFunction(() => Number(((globalThis as any).document.querySelector('[data-figure="total:crawl pages"]')?.textContent ?? '0').split(' ')[0].replace(/,/g, '')) > 0);
  const first = cardNumber(await pagesShown());
  // The next update event with more pages, still before the crawl is over.
  await page.waitForFunction((n) => Number(((globalThis as any).document.querySelector('[data-figure="total:crawl pages"]')?.textContent ?? '0').split(' ')[0].replace(/,/g, '')) > n, first);
  const second = cardNumber(await pagesShown());
  assert.equal(finished, false, 'the page updated while the crawl ran');
  assert.ok(second > first);

  const summary = await running;
  await dash.close();
  await page.waitForFunction(() => (globalThis as any).document.getElementById('status').textContent === 'the job has ended');

  const cards = await cardFigures(page);
  assert.equal(cardNumber(cards['total:crawl pages']), summary.pages);
  assert.equal(cards['depth:crawl in flight'], '0');
  const session = registry.toJSON().filter((m) => m.name === 'spate_http_requests_total').reduce((n, m) => n + (m.value ?? 0), 0);
  assert.equal(cardNumber(cards['total:http requests']), session);
  // Failed pages are the 404s of the lab's broken links: the errors figure says as much.
  assert.equal(cardNumber(cards.errors), summary.failed);

  const hostRequests = await page.evaluate(() => Number((globalThis as any).document.querySelector('#hosts tbody tr td').textContent.replace(/,/g, '')));
  assert.equal(hostRequests, session);

  const charts = await chartFigures(page);
  for (const id of ['throughput', 'latency', 'depths', 'errors', 'lag', 'memory', 'histogram']) {
    const c = charts.find((x) => x.id === id);
    assert.ok(c, `chart ${id} is on the page`);
    assert.equal(c.hidden, false, `${id} is shown`);
    assert.ok(c.points > (id === 'histogram' ? 0 : 3), `${id} has drawn data points (${c.points})`);
    assert.ok(c.inked > 0, `${id} drew on its canvas`);
    assert.ok(c.rows > 0, `${id} has a table of its figures`);
  }

  await page.screenshot({ path: join(shots, 'dashboard.png') });
  // The README's picture: made by this test; rewritten when missing or asked for (SPATE_UPDATE_DOCS=1), so
  // a test run does not leave the work tree changed.
  if (process.env.SPATE_UPDATE_DOCS === '1' || !existsSync(join(docs, 'dashboard.png'))) copyFileSync(join(shots, 'dashboard.png'), join(docs, 'dashboard.png'));
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => (globalThis as any).document.documentElement.scrollWidth <= 390);
  await page.screenshot({ path: join(shots, 'dashboard-390.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

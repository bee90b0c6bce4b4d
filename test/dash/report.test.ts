// The HTML report of a real crawl of the lab, made by the CLI and opened from file:// in Chromium.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startLab, type Lab } from '../../src/lab/index.ts';
import { type Browser, cardFigures, chartFigures, launch, skipReason } from './browser.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const shots = fileURLToPath(new URL('../../tmp/', import.meta.url));
const skip = skipReason();
let lab: Lab;
let dir: string;
let browser: Browser | undefined;

before(async () => {
  lab = await startLab({ seed: 1 });
  dir = mkdtempSync(join(tmpdir(), 'spate-report-'));
  mkdirSync(shots, { recursive: true });
  if (skip === undefined) browser = await launch();
});
after(async () => {
  await browser?.close();
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

function crawl(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [main, 'crawl', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

test('spate crawl --report-html writes one self-contained file whose charts, tables and figures match the crawl', { skip }, async () => {
  const file = join(dir, 'report.html');
  const { code, stderr } = await crawl([`${lab.url}/site/default/`, '--json', '--report-html', file, '-o', join(dir, 'pages.jsonl')]);
  assert.ok(code === 0 || code === 1, stderr);
  const summaryLine = stderr.split('\n').find((l) => l.startsWith('{"summary"'));
  assert.ok(summaryLine, stderr);
  const { summary } = JSON.parse(summaryLine) as { summary: { done: number; failed: number; blocked: number; pages: number } };
  assert.ok(summary.done > 50);
  const html = readFileSync(file, 'utf8');
  // Self-contained: nothing is fetched from anywhere.
  assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)="(?!data:)/i);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);

  const { page, errors } = await browser!.page();
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  await page.waitForFunction(() => Number((globalThis as any).document.body.dataset.frames) > 0);
  assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), []);

  const charts = await chartFigures(page);
  const ids = charts.map((c) => c.id);
  for (const id of ['throughput', 'latency', 'depths', 'errors', 'lag', 'memory', 'histogram']) assert.ok(ids.includes(id), `chart ${id} is on the page`);
  assert.ok(charts.length >= 9, 'status codes and depths are charts too');
  for (const c of charts) {
    assert.equal(c.hidden, false, `${c.id} is shown`);
    assert.ok(c.points > 0, `${c.id} has data points`);
    assert.ok(c.inked > 0, `${c.id} drew on its canvas`);
    assert.ok(c.rows > 0, `${c.id} has a table of its figures`);
  }

  const cards = await cardFigures(page);
  assert.equal(cards['summary:pages ok'], String(summary.done));
  assert.equal(cards['summary:failed'], String(summary.failed));
  assert.equal(cards['summary:blocked by robots.txt'], String(summary.blocked));
  assert.match(cards['total:crawl pages']!, new RegExp(`^${summary.pages} `));

  // The status-code table adds up to the pages recorded; the depth table too.
  const sums = await page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const section of (globalThis as any).document.querySelectorAll('section.section')) {
      const title = section.querySelector('h2').textContent;
      let n = 0;
      for (const row of section.querySelectorAll('details tbody tr')) n += Number(row.cells[1].textContent.replace(/,/g, ''));
      out[title] = n;
    }
    return out;
  });
  assert.equal(sums['Status codes'], summary.pages);
  assert.equal(sums['Depth distribution'], summary.pages);

  await page.screenshot({ path: join(shots, 'report.png'), fullPage: true });
  // A phone's width: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => (globalThis as any).document.documentElement.scrollWidth <= 390);
  await page.screenshot({ path: join(shots, 'report-390.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

// dash/crawl: the crawl benchmark's spate variant, with `--dashboard`: the crawler publishes into
// a registry, a live dashboard samples it every second and streams frames to a connected client
// (as a browser would be), so the whole cost of watching a crawl is in the figure.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crawler } from '../../src/crawl/index.ts';
import { startDashboard } from '../../src/dash/index.ts';
import { MetricsRegistry } from '../../src/observe/index.ts';
import { report } from '../lib.ts';
import { checkPages, crawlArgs } from '../crawl/common.ts';

const { url, pages, concurrency } = crawlArgs();
const withDashboard = process.argv.includes('--dashboard');
const dir = mkdtempSync(join(tmpdir(), 'spate-bench-dash-'));
const registry = withDashboard ? new MetricsRegistry() : undefined;
const dash = registry ? await startDashboard({ registry }) : undefined;
const watcher = new AbortController();
let frames = 0;
const watching = dash
  ? fetch(new URL('events', dash.url), { signal: watcher.signal }).then(async (res) => {
    for await (const chunk of res.body!) frames += (Buffer.from(chunk).toString().match(/^event: frame$/gm) ?? []).length;
  }).catch(() => {})
  : undefined;
try {
  const crawler = new Crawler({ seeds: [url], concurrency, perHostConcurrency: concurrency, statePath: join(dir, 'state.sqlite'), output: join(dir, 'pages.jsonl'), registry });
  const start = performance.now();
  const summary = await crawler.run();
  const seconds = (performance.now() - start) / 1000;
  checkPages(summary.done, pages, withDashboard ? 'spate+dashboard' : 'spate');
  const extra: Record<string, number> = {};
  if (dash) {
    // What one tick costs (read the registry, build the frame, send it to the client), timed
    // after the crawl: on a shared machine this says more than the difference of two noisy rates.
    const n = 200;
    const cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) await dash.recorder.tick();
    const used = process.cpuUsage(cpu);
    const tickUs = (used.user + used.system) / n;
    // One tick a second: tick_us / 10⁴ is the share (%) of one core the dashboard takes.
    extra.tick_us = tickUs;
    extra.frames = frames;
  }
  await dash?.close();
  watcher.abort();
  await watching;
  report(summary.done / seconds, extra);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

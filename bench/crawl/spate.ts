// crawl/spate: the Crawler with its durable SQLite state and JSONL output in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crawler } from '../../src/crawl/index.ts';
import { report } from '../lib.ts';
import { checkPages, crawlArgs } from './common.ts';

const { url, pages, concurrency } = crawlArgs();
const dir = mkdtempSync(join(tmpdir(), 'spate-bench-crawl-'));
try {
  const crawler = new Crawler({ seeds: [url], concurrency, perHostConcurrency: concurrency, statePath: join(dir, 'state.sqlite'), output: join(dir, 'pages.jsonl') });
  const start = performance.now();
  const summary = await crawler.run();
  const seconds = (performance.now() - start) / 1000;
  checkPages(summary.done, pages, 'spate');
  report(summary.done / seconds);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

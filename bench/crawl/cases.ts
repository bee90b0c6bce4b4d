// The crawl group: a 10,000-page synthetic site crawled by spate, Crawlee's CheerioCrawler, wget
// and Scrapy, each in its own process against one lab in another; and spate with 50 ms of latency
// per page against the bound that concurrency ÷ latency sets.
import { spawnSync } from 'node:child_process';
import { spawnLab } from '../../src/cli/lab-process.ts';
import type { Case, Variant } from '../run.ts';
import { nginxPath, serveProfile } from './nginx.ts';

function scrapy(): string | undefined {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(exe, ['-c', 'import scrapy'], { stdio: 'ignore' }).status === 0) return exe;
  }
  return undefined;
}

function hasWget(): boolean {
  return spawnSync('wget', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function lab(): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const l = await spawnLab();
  return { env: { LAB_URL: l.url }, close: () => l.close() };
}

export function cases(quick: boolean): Case[] {
  const pages = quick ? 2000 : 10_000;
  const concurrency = 32;
  const site = `pages=${pages},extras=0`;
  const py = scrapy();
  const node = (impl: string, extra: string[] = []): Variant => ({ impl, command: ['node', `crawl/${impl}.ts`, `--site=${site}`, `--pages=${pages}`, `--concurrency=${concurrency}`, ...extra] });
  const latency = 50;
  const latencyConcurrency = 32;
  const latencyPages = quick ? 1000 : 2000;
  const latencySite = `pages=${latencyPages},fanout=50,extras=0,latency=${latency}`;
  const crawleeSkip = (): string | undefined => (spawnSync(process.execPath, ['-e', "import('@crawlee/cheerio')"], { cwd: new URL('..', import.meta.url), stdio: 'ignore' }).status === 0 ? undefined : '@crawlee/cheerio is not installed in bench/');
  // Real-sized sites served by nginx; each row is the whole command (start-up included), timed.
  const profile = (name: 'docs' | 'blog', n: number): Case => ({
    bench: `crawl/${name}-${n / 1000}k`,
    unit: 's',
    higherIsBetter: false,
    setup: () => serveProfile(name, n),
    variants: [
      { impl: 'spate', command: ['node', 'crawl/whole.ts', '--impl=spate'] },
      { impl: 'wget', command: ['node', 'crawl/whole.ts', '--impl=wget'], skip: () => (hasWget() ? undefined : 'wget not found') },
      { impl: 'crawlee', command: ['node', 'crawl/whole.ts', '--impl=crawlee'], skip: crawleeSkip },
      { impl: 'scrapy', command: ['node', 'crawl/whole.ts', '--impl=scrapy'], skip: () => (py ? undefined : 'scrapy is not installed (apt-get install python3-scrapy)') },
    ].map((v) => (nginxPath() === undefined ? { ...v, skip: () => 'nginx not found (apt-get install nginx)' } : v)),
  });
  return [
    profile('docs', 2000),
    profile('blog', 1000),
    {
      bench: 'crawl/synthetic-10k',
      unit: 'pages/s',
      higherIsBetter: true,
      setup: lab,
      variants: [
        node('spate'),
        { ...node('crawlee'), skip: crawleeSkip },
        { ...node('wget'), skip: () => (hasWget() ? undefined : 'wget not found') },
        {
          impl: 'scrapy',
          command: [py ?? 'python3', 'crawl/scrapy_crawl.py', `--site=${site}`, `--pages=${pages}`, `--concurrency=${concurrency}`],
          skip: () => (py ? undefined : 'scrapy is not installed (apt-get install python3-scrapy)'),
        },
      ],
    },
    {
      bench: 'crawl/latency-50ms',
      unit: 'pages/s',
      higherIsBetter: true,
      setup: lab,
      variants: [
        { impl: 'spate', command: ['node', 'crawl/spate.ts', `--site=${latencySite}`, `--pages=${latencyPages}`, `--concurrency=${latencyConcurrency}`] },
        { impl: 'limit', command: ['node', 'crawl/limit.ts', `--concurrency=${latencyConcurrency}`, `--latency=${latency}`] },
      ],
    },
  ];
}

// crawl/distributed: the lab's 10,000-page site crawled by 1, 2 and 3 worker processes sharing
// one Postgres frontier, beside one process on SQLite (bench/crawl/spate.ts). Register in
// bench/run.ts as its own group: `'crawl-distributed': () => import('./crawl/distributed-cases.ts')`.
import { spawnLab } from '../../src/cli/lab-process.ts';
import type { Case, Variant } from '../run.ts';

export function cases(quick: boolean): Case[] {
  const pages = quick ? 2000 : 10_000;
  const concurrency = 32;
  const site = `pages=${pages},extras=0`;
  const args = [`--site=${site}`, `--pages=${pages}`, `--concurrency=${concurrency}`];
  const pg = (workers: number): Variant => ({ impl: `postgres x${workers}`, command: ['node', 'crawl/distributed.ts', ...args, `--workers=${workers}`] });
  return [{
    bench: 'crawl/distributed',
    unit: 'pages/s',
    higherIsBetter: true,
    setup: async () => {
      const l = await spawnLab();
      return { env: { LAB_URL: l.url }, close: () => l.close() };
    },
    variants: [{ impl: 'sqlite x1', command: ['node', 'crawl/spate.ts', ...args] }, pg(1), pg(2), pg(3)],
  }];
}

// The dash group: what a live dashboard costs a crawl. The crawl benchmark's spate variant,
// with and without --dashboard (a registry, a sampler each second, an SSE client reading).
import { spawnLab } from '../../src/cli/lab-process.ts';
import type { Case } from '../run.ts';

export function cases(quick: boolean): Case[] {
  const pages = quick ? 2000 : 10_000;
  const site = `pages=${pages},extras=0`;
  const args = [`--site=${site}`, `--pages=${pages}`, '--concurrency=32'];
  return [
    {
      bench: 'dash/crawl-overhead',
      unit: 'pages/s',
      higherIsBetter: true,
      async setup() {
        const lab = await spawnLab();
        return { env: { LAB_URL: lab.url }, close: () => lab.close() };
      },
      variants: [
        { impl: 'spate', command: ['node', 'dash/crawl.ts', ...args] },
        { impl: 'spate+dashboard', command: ['node', 'dash/crawl.ts', ...args, '--dashboard'] },
      ],
    },
  ];
}

// crawl/crawlee: Crawlee's CheerioCrawler, storage in memory (its fastest setting), same limits.
import { report } from '../lib.ts';
import { checkPages, crawlArgs } from './common.ts';

const { url, pages, concurrency } = crawlArgs();
const { CheerioCrawler, Configuration } = await import('@crawlee/cheerio');
const config = new Configuration({ persistStorage: false, purgeOnStart: true, logLevel: 0 } as never);
let count = 0;
const crawler = new CheerioCrawler({
  maxConcurrency: concurrency,
  minConcurrency: concurrency,
  maxRequestRetries: 0,
  maxRequestsPerCrawl: pages + 10,
  async requestHandler({ enqueueLinks }) {
    count++;
    await enqueueLinks({ strategy: 'same-hostname' });
  },
}, config);
const start = performance.now();
await crawler.run([url]);
const seconds = (performance.now() - start) / 1000;
checkPages(count, pages, 'crawlee');
report(count / seconds);

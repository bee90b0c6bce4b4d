// Seeds: AsyncWebScraper.scrape_site(start_url, max_depth=1, max_pages=20) — a breadth-first
// crawl with depth and page limits, a semaphore of 5, and the status, title or error of each page.
// With spate the loop, the visited set, link extraction and the limits are the Crawler's.
import { Crawler, type PageRecord } from '../../src/crawl/index.ts';
import { startLab } from '../../src/lab/index.ts';

await using lab = await startLab({ seed: 1 });

const results: PageRecord[] = [];
const crawler = new Crawler({
  seeds: [`${lab.url}/site/default/`],
  maxDepth: 1,
  maxPages: 20,
  concurrency: 5,
  onPage: (page) => {
    results.push(page);
  },
});
const summary = await crawler.run();

// Pages finish in any order; print them breadth-first, then by URL, so the output is stable.
results.sort((a, b) => a.depth - b.depth || a.url.localeCompare(b.url, 'en', { numeric: true }));
for (const r of results) {
  const path = new URL(r.url).pathname;
  const to = r.redirectTo ? `  → ${new URL(r.redirectTo).pathname}` : '';
  console.log(`depth ${r.depth}  ${r.status ?? 'error'}  ${path}${r.title ? `  "${r.title}"` : ''}${to}${r.error ? `  (${r.error})` : ''}`);
}
console.log(`Scraped ${summary.pages} pages (${summary.failed} failed, ${summary.blocked} blocked by robots.txt)`);

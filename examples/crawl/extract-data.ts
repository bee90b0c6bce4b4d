// Seeds: the BeautifulSoup-style crawler — parse each page, pull data out of it (the <h1> and
// how many links it lists), and choose the links to follow yourself: here only "Child" links,
// never the parent or "See also" ones. `followLinks: false` hands link choice to `enqueue`.
import { Crawler } from '../../src/crawl/index.ts';
import { startLab } from '../../src/lab/index.ts';

await using lab = await startLab({ seed: 1 });

interface Item {
  path: string;
  heading: string;
  links: number;
}
const items: Item[] = [];
const crawler = new Crawler({
  seeds: [`${lab.url}/site/pages=40,extras=0/`],
  maxDepth: 2,
  followLinks: false,
  onPage: (page, { enqueue }) => {
    const html = page.text();
    items.push({ path: new URL(page.url).pathname, heading: /<h1>([^<]*)<\/h1>/.exec(html)?.[1] ?? '', links: page.links });
    for (const m of html.matchAll(/<a href="([^"]+)">Child \d+<\/a>/g)) enqueue(m[1]!);
  },
});
const summary = await crawler.run();

items.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
for (const item of items) console.log(`${item.path.padEnd(32)} ${item.heading.padEnd(8)} ${item.links} links`);
console.log(`${summary.pages} pages scraped`);

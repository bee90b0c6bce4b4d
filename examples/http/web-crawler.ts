// Seeds: the simple AsyncWebCrawler — fetch a list of pages concurrently (max_concurrent=10) and
// report each page's status, size and title. (The full crawler is `spate crawl`.)
import { startLab } from '../../src/lab/index.ts';
import { Session, batchStream } from '../../src/http/index.ts';

await using lab = await startLab();
await using http = new Session();

const urls = [`${lab.url}/site/default/`, ...Array.from({ length: 5 }, (_, i) => `${lab.url}/site/default/page/${i + 1}`), `${lab.url}/site/default/missing`];
const pages: { url: string; line: string }[] = [];
for await (const r of batchStream(http, urls, { concurrency: 10 })) {
  const title = r.ok ? (/<title>([^<]*)<\/title>/i.exec(await r.response!.text())?.[1] ?? '') : '';
  const size = r.ok ? (await r.response!.bytes()).length : 0;
  pages.push({ url: r.url, line: `${r.status ?? 'error'} ${new URL(r.url).pathname} ${size > 0 ? 'has body' : 'empty'} "${title}"` });
}
// Results arrive in completion order; print them in input order so the output is stable.
pages.sort((a, b) => urls.indexOf(a.url) - urls.indexOf(b.url));
for (const p of pages) console.log(p.line);
console.log(`crawled ${pages.length} pages`);

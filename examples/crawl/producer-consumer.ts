// Seeds: the producer/consumer crawler — a producer puts start URLs on an asyncio.Queue, three
// consumers take URLs, skip those in the visited set, "fetch" them and put new URLs back, and
// queue.join() waits for the end. Here the same shape with spate's Queue, real fetches from the
// lab and real link extraction; the Crawler does all of this (durably) in one object, but the
// building blocks are there for a crawler of your own.
import { Queue } from '../../src/core/queue.ts';
import { LinkExtractor, normalizeUrl } from '../../src/crawl/index.ts';
import { Session } from '../../src/http/index.ts';
import { startLab } from '../../src/lab/index.ts';

await using lab = await startLab({ seed: 1 });
await using http = new Session();
const root = `${lab.url}/site/pages=25,extras=0/`;

const queue = new Queue<string>();
const visited = new Set<string>();
const titles = new Map<string, string>();

async function producer(startUrls: string[]): Promise<void> {
  for (const url of startUrls) await queue.put(url);
}

async function consumer(): Promise<void> {
  for (;;) {
    const url = await queue.get();
    try {
      if (visited.has(url)) continue;
      visited.add(url);
      const res = await http.get(url, { throwOnStatus: false });
      const x = new LinkExtractor({ url: res.url, contentType: res.header('content-type') });
      x.write(await res.bytes());
      const page = x.end();
      titles.set(new URL(url).pathname, page.title);
      for (const href of page.hrefs) {
        const next = normalizeUrl(href, page.base);
        if (next !== undefined && next.startsWith(root) && !visited.has(next)) await queue.put(next);
      }
    } finally {
      queue.taskDone();
    }
  }
}

await producer([root, `${root}page/1`, `${root}page/2`]);
const consumers = Array.from({ length: 3 }, () => consumer().catch(() => {}));
await queue.join();
queue.shutdown({ immediate: true });
await Promise.all(consumers);

const paths = [...titles.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
for (const path of paths) console.log(`${path}  "${titles.get(path)}"`);
console.log(`Scraped ${visited.size} unique URLs`);

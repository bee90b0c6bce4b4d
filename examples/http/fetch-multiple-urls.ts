// Seeds: fetch_multiple_urls(urls, max_concurrent=5) — many URLs, at most 5 at a time, under a
// semaphore. With spate the semaphore is `batch`'s `concurrency`, and each URL ends in a result.
import { startLab } from '../../src/lab/index.ts';
import { Session, batch } from '../../src/http/index.ts';

await using lab = await startLab();
await using http = new Session();

const urls = [
  ...Array.from({ length: 8 }, (_, i) => `${lab.url}/delay/0.1?n=${i}`),
  `${lab.url}/status/404`,
  `${lab.url}/status/200`,
];
const start = performance.now();
const results = await batch(http, urls, { concurrency: 5 });
const seconds = (performance.now() - start) / 1000;

for (const r of results) console.log(`${r.ok ? 'ok  ' : 'fail'} ${r.status ?? '-'} ${new URL(r.url).pathname}${new URL(r.url).search}`);
console.log(`${results.filter((r) => r.ok).length} of ${results.length} succeeded`);
// 8 delayed URLs, 5 at a time: two rounds of 0.1 s, not eight.
console.log(`took ${seconds < 0.6 ? 'under 0.6 s' : `${seconds.toFixed(2)} s (slow machine?)`}`);

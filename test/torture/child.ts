// The process the kill -9 torture test kills: a crawl or a download through the library, with a
// line on stdout per step of progress (the test kills it after the k-th line).
//   node child.ts crawl <seed url> <state> <output>
//   node child.ts download <out> <urls file>
import { readFileSync } from 'node:fs';
import { Crawler } from '../../src/crawl/crawler.ts';
import { Downloader } from '../../src/download/downloader.ts';

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'crawl') {
  const crawler = new Crawler({
    seeds: [a!],
    statePath: b!,
    output: c!,
    concurrency: 4,
    onPage: () => void process.stdout.write('page\n'),
  });
  await crawler.run();
  process.stdout.write('done\n');
} else if (mode === 'download') {
  const items = readFileSync(b!, 'utf8').split('\n').filter(Boolean).map((url) => ({ url }));
  const dl = new Downloader({ out: a!, concurrency: 4, resume: true, backoff: () => 10, onProgress: (r) => void process.stdout.write(`file ${r.status}\n`) });
  // A line per 64 KiB written, so a kill can land in the middle of transfers.
  let reported = 0;
  const ticker = setInterval(() => {
    const bytes = dl.stats().bytes;
    for (; reported + 65_536 <= bytes; reported += 65_536) process.stdout.write('bytes\n');
  }, 2);
  try {
    const summary = await dl.run(items);
    process.stdout.write(`done ${JSON.stringify(summary)}\n`);
  } finally {
    clearInterval(ticker);
    await dl.close();
  }
} else {
  process.stderr.write(`unknown mode ${String(mode)}\n`);
  process.exit(2);
}

// Seeds: batch_download(urls, save_dir, max_concurrent=10) — a semaphore and a connector limit,
// one DownloadResult per URL (url, status, size, error) and the totals {total, success, failed,
// total_size}. spate's Downloader adds what the seeds list as improvements: retries that resume
// with Range, files that are complete or absent, a state file so an interrupted run continues.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLab } from '../../src/lab/index.ts';
import { Downloader, type DownloadResult } from '../../src/download/index.ts';

await using lab = await startLab({ seed: 42 });
const saveDir = mkdtempSync(join(tmpdir(), 'spate-batch-'));

const urls = [
  ...Array.from({ length: 8 }, (_, i) => `${lab.url}/files/image_${String(i).padStart(4, '0')}.jpg?size=${(i + 1) * 50_000}`),
  // Breaks after 100 kB on every response: finished by resuming with Range.
  `${lab.url}/files/large.bin?size=400000&fail_at=100000&key=large-${process.pid}`,
  // Answers 503 twice, then the file.
  `${lab.url}/files/flaky.bin?size=1000&fail_first=2&fail_status=503&key=flaky-${process.pid}`,
  `${lab.url}/status/404`,
];

async function batchDownload(urls: string[], dir: string, maxConcurrent = 10) {
  await using downloader = new Downloader({ out: dir, concurrency: maxConcurrent, perHost: maxConcurrent, backoff: () => 10 });
  const summary = await downloader.run(urls.map((url, i) => ({ url, line: i + 1 })));
  const results: DownloadResult[] = [...downloader.results()];
  return { results, totals: { total: summary.total, success: summary.success, failed: summary.failed, total_size: summary.totalBytes } };
}

try {
  const { results, totals } = await batchDownload(urls, saveDir);
  for (const r of results) {
    const what = r.status === 'done' ? `${String(r.bytes).padStart(7)} bytes${r.attempts > 1 ? ' (retried)' : ''}` : /HTTP \d+/.exec(r.error ?? '')?.[0];
    console.log(`${r.status.padEnd(6)} ${r.name.padEnd(16)} ${what}`);
  }
  console.log(totals);
} finally {
  rmSync(saveDir, { recursive: true, force: true });
}

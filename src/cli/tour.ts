// `spate tour` (what `npm start` runs): a short walk through spate on the embedded defaults,
// against a lab server it starts itself: the seeds' timer comparison, the fan-out table, a crawl
// of the lab's synthetic site and a batch download, each with its progress and summary; it ends
// by saying where the crawl's HTML report is.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { runFanoutCommand } from './bench.ts';
import { runCrawlCommand } from './crawl.ts';
import { compareSequentialConcurrent, formatTable } from './demo.ts';
import { runDownloadCommand } from './download.ts';
import { spawnLab } from './lab-process.ts';

export function register(program: Command): void {
  program.command('tour')
    .description('A short tour: sequential vs concurrent, the fan-out table, a crawl, a download and a pipeline, all against a local lab')
    .option('--quick', 'smaller sizes, for a slow machine')
    .action(async (opts: { quick?: boolean }) => {
      const ac = new AbortController();
      const stop = () => ac.abort(new Error('interrupted'));
      process.once('SIGINT', stop);
      try {
        heading('1. Sequential vs concurrent waits (timers standing in for I/O)');
        const rows = [];
        for (const n of [3, 10, 100, 10_000]) rows.push(await compareSequentialConcurrent(n, 100, n <= 10));
        process.stdout.write(`${formatTable(rows, 100)}\n`);

        heading('2. The fan-out table: N URLs that each take 0.25 s, against the lab');
        await runFanoutCommand({ delay: 0.25, sizes: [5, 10, 20], large: opts.quick ? [100, 1000] : [100, 1000, 10_000] }, ac.signal);

        const pages = opts.quick ? 200 : 2000;
        await using lab = await spawnLab(['--pages', String(pages)]);
        const work = mkdtempSync(join(tmpdir(), 'spate-tour-'));
        const report = join(tmpdir(), 'spate-tour-report.html');
        try {
          heading(`3. A crawl of the lab's synthetic site (${pages} pages, robots.txt honoured, some links broken on purpose)`);
          await runCrawlCommand([`${lab.url}/site/default/`], {
            scope: 'same-host', include: [], exclude: [], concurrency: 32, perHost: 32, robots: true,
            userAgent: 'spate-crawler/0.1 (+local)', state: join(work, 'crawl.sqlite'), output: join(work, 'pages.jsonl'), progressInterval: 1000,
            reportHtml: report,
          }, ac.signal);
          const first = readFileSync(join(work, 'pages.jsonl'), 'utf8').split('\n', 1)[0];
          process.stdout.write(`The output has one JSON line per page, like this one:\n${first}\n`);

          const files = opts.quick ? 20 : 200;
          heading(`4. A batch download: ${files} files of 256 KiB, 8 at a time, written complete or not at all`);
          const list = join(work, 'list.txt');
          writeFileSync(list, Array.from({ length: files }, (_, i) => `${lab.url}/files/file-${i}.bin?size=262144`).join('\n') + '\n');
          await runDownloadCommand(list, { outDir: join(work, 'files'), concurrency: 8, perHost: 8, retries: 3, progressInterval: 1000 }, ac.signal);

          heading('5. A data pipeline (seed 002): parse → enrich over HTTP (workers scale 1–16) → batched save; bad rows become dead letters');
          await tourPipeline(lab.url, opts.quick ? 500 : 3000, ac.signal);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
        process.stdout.write(`\nThe crawl's report (charts, status codes, depths, slowest pages, failures): ${pathToFileURL(report).href}\n`);
        process.stdout.write('\nThat was spate. `spate --help` lists the commands; the README has the library.\n');
      } catch (error) {
        if (ac.signal.aborted) {
          process.exitCode = 130;
          return;
        }
        throw error;
      } finally {
        process.off('SIGINT', stop);
      }
    });
}

/** Seed 002's DataPipeline on spate/pipeline, against the lab: no service needed. */
async function tourPipeline(labUrl: string, items: number, signal: AbortSignal): Promise<void> {
  const [{ pipeline, MemoryPipelineStore }, { Session }] = await Promise.all([import('../pipeline/index.ts'), import('../http/session.ts')]);
  await using http = new Session({ connections: 16 });
  const store = new MemoryPipelineStore();
  const rows = Array.from({ length: items }, (_, i) => (i % 97 === 13 ? `row ${i}: ???` : `row ${i}: ${i * 7}`));
  let saved = 0;
  let batches = 0;
  const p = pipeline(rows, { name: 'tour', store, durable: false })
    .map((line) => {
      const value = Number(line.split(': ')[1]);
      if (Number.isNaN(value)) throw Object.assign(new Error(`not a number: ${line}`), { code: 'EPARSE' });
      return value;
    }, { name: 'parse' })
    .map(async (value, { signal: s }) => {
      const response = await http.get(`${labUrl}/delay/0.02`, { signal: s });
      await response.text();
      return { value, enriched: value * 2 };
    }, { name: 'enrich', concurrency: { min: 1, max: 16, interval: 100, cooldown: 500 }, buffer: 100, retry: { retries: 2 } })
    .batch({ size: 100, maxWait: 200, name: 'save' }, (batch) => {
      saved += batch.length;
      batches++;
    });
  let peak = 0;
  const result = await p.run({ signal, progressInterval: 50, onProgress: (s) => void (peak = Math.max(peak, s.stages[1]!.workers)) });
  const enrich = result.stages.find((s) => s.name === 'enrich')!;
  process.stdout.write(`${result.read} rows read, ${saved} saved in ${batches} batches, ${result.deadLetters} dead letters, in ${(result.elapsed / 1000).toFixed(2)} s\n`);
  process.stdout.write(`enrich: p50 ${enrich.latency.p50.toFixed(1)} ms, p99 ${enrich.latency.p99.toFixed(1)} ms per item, up to ${peak} workers (the autoscaler's choice, 1–16)\n`);
  const [first] = await store.listDeadLetters('tour');
  if (first) process.stdout.write(`a dead letter: ${first.stage} ${first.error.code} "${first.error.message}" after ${first.attempts} attempt(s)\n`);
  process.stdout.write('PostgreSQL next: `npx node examples/pg/transfer-serializable.ts` runs seed 001\'s transfers on an embedded Postgres (no server needed).\n');
}

function heading(text: string): void {
  process.stdout.write(`\n${text}\n${'-'.repeat(text.length)}\n`);
}

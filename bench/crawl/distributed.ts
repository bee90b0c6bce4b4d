// crawl/distributed: N worker processes crawl one site on one Postgres frontier
// (`--workers=N --site=… --pages=… --concurrency=C`; Postgres at SPATE_BENCH_PG or 127.0.0.1/test).
// The coordinator starts the workers, lets them open the shared store, then says "go" to all at
// once: pages/s is the site's pages over the time from "go" to the last worker's end.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Crawler } from '../../src/crawl/index.ts';
import { PostgresCrawlStore } from '../../src/crawl/postgres-store.ts';
import { PgSqlClient } from '../../src/store/index.ts';
import { report } from '../lib.ts';
import { checkPages, crawlArgs } from './common.ts';

const PG = process.env.SPATE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const get = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const { url, pages, concurrency } = crawlArgs();

if (get('role') === 'worker') {
  const store = await PostgresCrawlStore.open({ url: PG, schema: get('schema')!, worker: `w${get('index')}` });
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));
  const crawler = new Crawler({ seeds: [url], concurrency, perHostConcurrency: concurrency, store, output: get('output')! });
  await crawler.run();
  const counts = await store.counts();
  await store.close();
  process.stdout.write(`${JSON.stringify({ end: Date.now(), done: counts.done })}\n`);
} else {
  const workers = Number(get('workers') ?? 1);
  const schema = `bench_crawl_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'spate-bench-dist-'));
  const self = fileURLToPath(import.meta.url);
  try {
    const children = Array.from({ length: workers }, (_, i) => {
      const child = spawn(process.execPath, [self, ...process.argv.slice(2), '--role=worker', `--schema=${schema}`, `--index=${i}`, `--output=${join(dir, `w${i}.jsonl`)}`], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout! });
      const ready = new Promise<void>((resolve) => lines.once('line', () => resolve()));
      const result = new Promise<{ end: number; done: number }>((resolve, reject) => {
        let last = '';
        lines.on('line', (l) => (last = l));
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(last) as { end: number; done: number }) : reject(new Error(`worker ${i} exited with ${code}`))));
      });
      return { child, ready, result };
    });
    await Promise.all(children.map((c) => c.ready));
    const start = Date.now();
    for (const c of children) c.child.stdin!.end('go\n');
    const results = await Promise.all(children.map((c) => c.result));
    const end = Math.max(...results.map((r) => r.end));
    checkPages(Math.max(...results.map((r) => r.done)), pages, `postgres x${workers}`);
    report(pages / ((end - start) / 1000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const client = new PgSqlClient(PG);
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.close();
  }
}

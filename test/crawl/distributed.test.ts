// Several `spate crawl` processes on one Postgres frontier: one is SIGKILLed mid-run, a fourth
// joins; the export has every page once and the lab's request log shows the per-host rate held
// for the crawl as a whole. npm test crawls a 400-page site; the longer run crawls the lab's
// 10,000-page site: SPATE_DISTRIBUTED_PAGES=10000 node --test test/crawl/distributed.test.ts
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab } from '../../src/lab/index.ts';
import { dropSchemas, PG_URL, postgresMissing, testSchema } from '../helpers/postgres.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const PAGES = Number(process.env.SPATE_DISTRIBUTED_PAGES ?? 400);
// Slow enough that the joiner (a new node process on a busy machine: seconds to start) has work left.
const RATE = PAGES > 1000 ? 400 : 25;

const missing = await postgresMissing();
if (missing !== undefined) {
  test(missing, { skip: true }, () => {});
} else {
  const dir = mkdtempSync(join(tmpdir(), 'spate-dist-'));
  const schemas: string[] = [];
  after(async () => {
    await dropSchemas(schemas);
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stderr: string }> } => {
    const child = spawn(process.execPath, [main, 'crawl', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c));
    const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });
    return { child, done };
  };
  const urlsIn = (path: string): string[] => {
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => (JSON.parse(l) as { url: string }).url);
  };

  test(`spate crawl --state postgres:// - 3 workers, one SIGKILLed, a 4th joins: ${PAGES} pages exactly once, one rate for the crawl`, { timeout: 600_000 }, async () => {
    const log: { at: number; url: string }[] = [];
    await using lab = await startLab({ seed: 1, onRequest: (e) => log.push({ at: e.at, url: e.url }) });
    const site = `${lab.url}/site/pages=${PAGES},extras=0/`;
    const job = testSchema('spate_crawl_t');
    schemas.push(job);
    const common = [site, '--state', PG_URL, '--job', job, '--resume', '--rate', String(RATE), '--lease', '5s', '--concurrency', '8', '--json', '--progress-interval', '100s'];
    const out = (i: number) => join(dir, `w${i}.jsonl`);
    const workers = [1, 2, 3].map((i) => start([...common, '-o', out(i)]));
    // Kill worker 2 once its own output shows it is in the middle of the crawl.
    const victim = workers[1]!;
    for (;;) {
      if (urlsIn(out(2)).length >= Math.min(20, PAGES / 10)) break;
      if (victim.child.exitCode !== null) throw new Error(`worker 2 ended before it was killed: ${(await victim.done).stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    victim.child.kill('SIGKILL');
    assert.equal((await victim.done).signal, 'SIGKILL');
    const joiner = start([...common, '-o', out(4)]);
    const results = await Promise.all([workers[0]!.done, workers[2]!.done, joiner.done]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);

    const exported = join(dir, 'pages.jsonl');
    const exp = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [main, 'crawl', 'export', '--state', PG_URL, '--job', job, '-o', exported], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(exp.code, 0, exp.stderr);
    const all = urlsIn(exported);
    assert.equal(all.length, PAGES, 'every page is in the export');
    assert.equal(new Set(all).size, PAGES, 'no page twice');
    // Each worker's own file holds only what it committed: no page in two files.
    const files = [1, 2, 3, 4].flatMap((i) => urlsIn(out(i)));
    assert.equal(new Set(files).size, files.length);
    for (const i of [1, 3, 4]) assert.ok(urlsIn(out(i)).length > 0, `worker ${i} took a share`);

    // The lab saw each page fetched, and never faster than the rate for the crawl as a whole
    // (a dead worker's pages are fetched again, so there may be a few more requests than pages).
    const pages = log.filter((e) => e.url.startsWith('/site/')).map((e) => e.at).sort((a, b) => a - b);
    assert.ok(pages.length >= PAGES, String(pages.length));
    const spacing = 1000 / RATE;
    // Slots are spacing ms apart on the database's clock; arrivals jitter with the machine's load
    // (a stalled event loop sends several due requests at once), hence a 2 s window and slack.
    const window = 2000;
    const allowed = Math.ceil(window / spacing) + 10;
    let most = 0;
    for (let i = 0, j = 0; i < pages.length; i++) {
      while (pages[i]! - pages[j]! >= window) j++;
      most = Math.max(most, i - j + 1);
    }
    assert.ok(most <= allowed, `${most} requests in ${window} ms; the crawl's rate allows ${allowed}`);
    assert.ok(pages.at(-1)! - pages[0]! >= (PAGES - 1) * spacing * 0.9, 'the crawl took at least as long as its rate demands');
  });
}

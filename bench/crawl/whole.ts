// crawl/<profile>: one crawler's whole command (process start included) against the nginx-served
// site in SITE_URL, under /usr/bin/time: wall time is the value; CPU time (user + sys), CPU per
// page and peak RSS beside it. Fails when the crawler did not fetch exactly SITE_PAGES pages.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPages } from './common.ts';

const impl = process.argv.find((a) => a.startsWith('--impl='))?.slice(7) ?? 'spate';
const concurrency = Number(process.argv.find((a) => a.startsWith('--concurrency='))?.slice(14) ?? 32);
const url = process.env.SITE_URL;
const pages = Number(process.env.SITE_PAGES);
if (!url || !pages) throw new Error('SITE_URL and SITE_PAGES are not set (the case setup starts nginx)');
const here = fileURLToPath(new URL('.', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), `spate-bench-${impl}-`));

/** The CLI users run: package.json's bin (compiled JS once it points there), or SPATE_CLI. */
function spateCli(): string {
  if (process.env.SPATE_CLI) return process.env.SPATE_CLI;
  const pkg = JSON.parse(readFileSync(join(here, '../../package.json'), 'utf8')) as { bin?: { spate?: string } };
  return join(here, '../..', pkg.bin?.spate ?? 'src/cli/main.ts');
}

function command(): string[] {
  switch (impl) {
    case 'spate':
      return [process.execPath, spateCli(), 'crawl', url!, '-o', join(dir, 'pages.jsonl'), '--state', join(dir, 'state.sqlite'), '--concurrency', String(concurrency), '--per-host', String(concurrency)];
    case 'wget':
      return ['wget', '-r', '-l', 'inf', '-nv', '--delete-after', '-P', dir, url!];
    case 'crawlee':
      return [process.execPath, join(here, 'crawlee.ts'), `--pages=${pages}`, `--concurrency=${concurrency}`];
    case 'scrapy':
      return [existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', join(here, 'scrapy_crawl.py'), `--pages=${pages}`, `--concurrency=${concurrency}`];
    default:
      throw new Error(`unknown --impl ${impl}`);
  }
}

/** Pages the crawler fetched, from what it wrote. */
function counted(log: string): number {
  if (impl === 'spate') return readFileSync(join(dir, 'pages.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"status":200')).length;
  if (impl === 'wget') {
    // One "URL:… -> …" line per file saved; pages only (not robots.txt, CSS, JS, images, feeds).
    return [...log.matchAll(/ URL:(\S+) \[\d+(?:\/\d+)?\] -> /g)].filter((m) => !/\.(css|js|svg|png|xml|txt)$/.test(m[1]!)).length;
  }
  return pages; // crawlee and scrapy check their own count and exit non-zero when it is wrong
}

try {
  const result = await new Promise<{ log: string; code: number | null }>((resolve, reject) => {
    const [exe, ...args] = command();
    const child = spawn('/usr/bin/time', ['-f', 'spate-bench-time=%e %U %S %M', exe!, ...args], { cwd: join(here, '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (c: Buffer) => (log += c));
    child.stderr.on('data', (c: Buffer) => (log += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ log, code }));
  });
  const m = /spate-bench-time=([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.log);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${result.log.slice(-300)}`);
  if (result.code !== 0 && impl !== 'wget') throw new Error(`${impl} exited with ${result.code}: ${result.log.trim().split('\n').slice(-3).join(' | ')}`);
  checkPages(counted(result.log), pages, impl);
  const cpu = (Number(m[2]) + Number(m[3])) * 1000;
  console.log(JSON.stringify({ value: Number(m[1]), rss_mb: Math.round(Number(m[4]) / 102.4) / 10, cpu_ms: cpu, cpu_per_page_us: (cpu * 1000) / pages }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

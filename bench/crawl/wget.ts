// crawl/wget: `wget -r -l inf` (one connection, robots.txt honoured) into a temp dir, timed here;
// its peak RSS comes from /usr/bin/time.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPages, crawlArgs } from './common.ts';

const { url, pages } = crawlArgs();
const dir = mkdtempSync(join(tmpdir(), 'spate-bench-wget-'));
try {
  const start = performance.now();
  const { log, rss } = await new Promise<{ log: string; rss: number | null }>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'maxrss=%M', 'wget', '-r', '-l', 'inf', '-nv', '--delete-after', '-P', dir, url], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('error', reject);
    child.on('close', () => {
      const m = /maxrss=(\d+)/.exec(err);
      resolve({ log: err, rss: m ? Number(m[1]) / 1024 : null });
    });
  });
  const seconds = (performance.now() - start) / 1000;
  // One "URL:… -> …" line per page saved (robots.txt included, so minus one).
  const saved = (log.match(/ URL:\S+ \[\d+(?:\/\d+)?\] -> /g)?.length ?? 0) - 1;
  checkPages(saved, pages, 'wget');
  console.log(JSON.stringify({ value: saved / seconds, rss_mb: rss === null ? null : Math.round(rss * 10) / 10 }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

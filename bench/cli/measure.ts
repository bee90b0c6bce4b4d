// Runs one command several times (after a warm-up) and prints the median wall time in ms and
// the peak RSS (GNU time's %M) as one JSON line for bench/run.ts. `$NAME` arguments are replaced
// by environment variables (the case's setup provides the installed bin and the lab's URL).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const times = Number(/^--times=(\d+)$/.exec(argv.find((a) => a.startsWith('--times=')) ?? '')?.[1] ?? 10);
const command = argv.slice(split + 1).map((a) => a.replace(/^\$(\w+)/, (_, name: string) => process.env[name] ?? ''));
const dir = mkdtempSync(join(tmpdir(), 'spate-bench-cli-'));
const rssFile = join(dir, 'rss');

function once(): { ms: number; rssKb: number } {
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, ...command], { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${command.join(' ')} exited ${r.status}: ${String(r.stderr).trim().split('\n').slice(-2).join(' | ')}`);
  return { ms, rssKb: Number(readFileSync(rssFile, 'utf8').trim().split('\n').at(-1)) };
}

try {
  once();
  const runs = Array.from({ length: times }, once);
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  const median = ms.length % 2 ? ms[ms.length >> 1]! : (ms[(ms.length >> 1) - 1]! + ms[ms.length >> 1]!) / 2;
  console.log(JSON.stringify({ value: median, rss_mb: Math.max(...runs.map((r) => r.rssKb)) / 1024, min_ms: ms[0] }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// download/<n>x<size>: one implementation downloads n files of `size` bytes from the lab
// (LAB_URL) with 16 in flight; prints MB/s and the peak RSS of the process that did the work.
// Usage: node batch.ts <spate|aria2|curl> --n=1000 --size=1048576
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, report } from '../lib.ts';

const impl = process.argv[2];
const { n, size, concurrency } = args({ n: 1000, size: 1024 * 1024, concurrency: 16 }) as { n: number; size: number; concurrency: number };
const lab = process.env.LAB_URL;
if (!lab) throw new Error('LAB_URL is not set');
const dir = mkdtempSync(join(tmpdir(), `spate-bench-dl-${impl}-`));
const out = join(dir, 'out');
const urls = Array.from({ length: n }, (_, i) => `${lab}/files/bench/f${i}.bin?size=${size}`);
const TIME = '/usr/bin/time';

/** Runs a program under /usr/bin/time (when present): its peak RSS in MB and CPU time in ms. */
function timed(command: string, argv: string[]): { rss: number | null; cpu: number | null } {
  const useTime = existsSync(TIME);
  const r = useTime
    ? spawnSync(TIME, ['-f', 'maxrss_kb=%M cpu_s=%U+%S', command, ...argv], { encoding: 'utf8' })
    : spawnSync(command, argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command} exited ${r.status}: ${(r.stderr ?? '').slice(-500)}`);
  const m = /maxrss_kb=(\d+) cpu_s=([\d.]+)\+([\d.]+)/.exec(r.stderr ?? '');
  if (m === null) return { rss: null, cpu: null };
  return { rss: Math.round((Number(m[1]) / 1024) * 10) / 10, cpu: Math.round((Number(m[2]) + Number(m[3])) * 1000) };
}

function which(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

function check(): void {
  const files = readdirSync(out).filter((f) => !f.startsWith('.'));
  if (files.length !== n) throw new Error(`${impl}: ${files.length} files of ${n}`);
  for (const f of files) if (statSync(join(out, f)).size !== size) throw new Error(`${impl}: ${f} is not ${size} bytes`);
}

try {
  if ((impl === 'aria2' && !which('aria2c')) || (impl === 'curl' && !which('curl'))) {
    console.log(JSON.stringify({ skipped: `${impl} not installed` }));
    process.exit(0);
  }
  let measured: { rss: number | null; cpu: number | null } | undefined;
  // Loaded before the clock starts: the peers' start-up is milliseconds, Node's module loading is not the transfer.
  const { Downloader } = impl === 'spate' ? await import('../../src/download/index.ts') : { Downloader: undefined };
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  if (Downloader !== undefined) {
    const downloader = new Downloader({ out, concurrency, perHost: concurrency });
    const summary = await downloader.run(urls.map((url) => ({ url })));
    await downloader.close();
    if (summary.success !== n) throw new Error(`spate: ${summary.failed} failed`);
  } else if (impl === 'aria2') {
    const list = join(dir, 'list.txt');
    writeFileSync(list, `${urls.join('\n')}\n`);
    measured = timed('aria2c', ['-i', list, '-d', out, '-j', String(concurrency), '-x', '1', '--allow-overwrite=true', '--auto-file-renaming=false', '-q']);
  } else if (impl === 'curl') {
    const config = join(dir, 'curl.cfg');
    writeFileSync(config, urls.map((url, i) => `url = "${url}"\noutput = "${join(out, `f${i}.bin`)}"\n`).join(''));
    measured = timed('curl', ['--parallel', '--parallel-max', String(concurrency), '--create-dirs', '-s', '-S', '-f', '--config', config]);
  } else {
    throw new Error(`unknown impl ${impl}`);
  }
  const seconds = (performance.now() - start) / 1000;
  check();
  const mbps = (n * size) / 1e6 / seconds;
  // CPU time of the process that did the work: on a small machine the lab competes for the same
  // cores, so CPU per byte decides much of the throughput.
  if (measured === undefined) {
    const cpu = process.cpuUsage(cpu0);
    report(mbps, { cpu_ms: Math.round((cpu.user + cpu.system) / 1000) });
  } else {
    console.log(JSON.stringify({ value: mbps, rss_mb: measured.rss, ...(measured.cpu === null ? {} : { cpu_ms: measured.cpu }) }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

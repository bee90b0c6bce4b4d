// `npm run bench -- [group …] [--json] [--runs N] [--quick] [--html FILE]`: runs the benchmark groups
// side by side and prints a table with ratios (format: ../shared/BENCH.md), and with --html also
// writes them as bar charts of the ratios (one self-contained file). Benchmarks are never tests.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportSection } from '../src/dash/page.ts';
import { type HtmlReport, writeHtmlReport } from '../src/dash/report.ts';

export interface Variant {
  impl: string;
  /** Command and arguments; `node` means this Node (process.execPath). */
  command: string[];
  /** Returns a reason to skip (a peer that is not installed), or undefined. */
  skip?: () => string | undefined;
  env?: Record<string, string>;
}

export interface Case {
  bench: string;
  unit: string;
  /** Higher is better (ops/s, req/s) or lower (s, ms). */
  higherIsBetter: boolean;
  variants: Variant[];
  /** Started before the variants and stopped after (a server to run against), if any. */
  setup?: () => Promise<{ env: Record<string, string>; close(): Promise<void> }>;
}

interface Row {
  bench: string;
  impl: string;
  value: number | null;
  unit: string;
  rss_mb: number | null;
  runs: number;
  skipped?: string;
  /** Other medians a variant reported, such as `p99_ms`. */
  [extra: string]: unknown;
}

const here = dirname(fileURLToPath(import.meta.url));
const groups: Record<string, () => Promise<{ cases: (quick: boolean) => Case[] }>> = {
  core: () => import('./core/cases.ts'),
  http: () => import('./http/cases.ts'),
  serve: () => import('./serve/cases.ts'),
  crawl: () => import('./crawl/cases.ts'),
  download: () => import('./download/cases.ts'),
  'crawl-distributed': () => import('./crawl/distributed-cases.ts'),
  dash: () => import('./dash/cases.ts'),
  cli: () => import('./cli/cases.ts'),
  pg: () => import('./pg/cases.ts'),
  pipeline: () => import('./pipeline/cases.ts'),
  'pipeline-broker': () => import('./pipeline/broker-cases.ts'),
};

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function runVariant(variant: Variant, env: Record<string, string>, timeoutMs: number): Promise<{ value?: number; rss_mb?: number; skipped?: string; error?: string; [extra: string]: unknown }> {
  const [command, ...argv] = variant.command;
  const exe = command === 'node' ? process.execPath : command!;
  return new Promise((resolve) => {
    const child = spawn(exe, argv, { cwd: here, env: { ...process.env, ...env, ...variant.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ error: `did not finish within ${timeoutMs / 1000} s` });
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        resolve({ error: `${signal ? `killed by ${signal}` : `exit ${code}`}: ${(err || out).trim().split('\n').slice(-3).join(' | ')}` });
      }
    });
  });
}

async function runCase(c: Case, runs: number): Promise<Row[]> {
  const fixture = c.setup ? await c.setup() : undefined;
  const results = new Map<string, { values: number[]; rss: number[]; extras: Map<string, number[]>; skipped?: string }>();
  try {
    for (const v of c.variants) results.set(v.impl, { values: [], rss: [], extras: new Map() });
    for (const v of c.variants) {
      const reason = v.skip?.();
      if (reason) results.get(v.impl)!.skipped = reason;
    }
    // Interleave the variants run by run, so drift in the machine's load spreads over all of them.
    for (let run = 0; run < runs; run++) {
      for (const v of c.variants) {
        const slot = results.get(v.impl)!;
        if (slot.skipped) continue;
        const r = await runVariant(v, fixture?.env ?? {}, 300_000);
        if (r.skipped || r.error) {
          slot.skipped = r.skipped ?? r.error ?? "no result";
          continue;
        }
        slot.values.push(r.value!);
        if (r.rss_mb !== undefined) slot.rss.push(r.rss_mb);
        for (const [k, v] of Object.entries(r)) {
          if (k === 'value' || k === 'rss_mb' || typeof v !== 'number') continue;
          if (!slot.extras.has(k)) slot.extras.set(k, []);
          slot.extras.get(k)!.push(v);
        }
      }
    }
  } finally {
    await fixture?.close();
  }
  return c.variants.map((v) => {
    const slot = results.get(v.impl)!;
    if (slot.skipped || slot.values.length === 0) {
      return { bench: c.bench, impl: v.impl, value: null, unit: c.unit, rss_mb: null, runs: 0, skipped: slot.skipped ?? 'no result' };
    }
    const extras = Object.fromEntries([...slot.extras].map(([k, vs]) => [k, median(vs)]));
    return { bench: c.bench, impl: v.impl, value: median(slot.values), unit: c.unit, rss_mb: slot.rss.length ? Math.max(...slot.rss) : null, runs: slot.values.length, ...extras };
  });
}

function format(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

function table(c: Case, rows: Row[]): string {
  const spate = rows.find((r) => r.impl === 'spate' && r.value !== null);
  const lines = [`${c.bench} (${c.unit}, ${c.higherIsBetter ? 'higher' : 'lower'} is better)`];
  lines.push(`  ${'impl'.padEnd(12)} ${'value'.padStart(12)} ${'rss MB'.padStart(8)}   spate vs impl`);
  for (const r of rows) {
    if (r.value === null) {
      lines.push(`  ${r.impl.padEnd(12)} ${'skipped'.padStart(12)} ${''.padStart(8)}   (${r.skipped})`);
      continue;
    }
    let ratio = '';
    if (spate && r.impl !== 'spate') {
      const x = c.higherIsBetter ? spate.value! / r.value : r.value / spate.value!;
      ratio = `${x.toFixed(2)}×`;
    }
    const extras = Object.entries(r)
      .filter(([k, v]) => /_(ms|us|kb|pct)$/.test(k) && typeof v === 'number')
      .map(([k, v]) => {
        const [, name, unit] = /^(.*)_(ms|us|kb|pct)$/.exec(k)!;
        return `${name} ${(v as number).toFixed(1)} ${unit === 'pct' ? '%' : unit === 'us' ? 'µs' : unit === 'kb' ? 'KB' : 'ms'}`;
      })
      .join(', ');
    lines.push(`  ${r.impl.padEnd(12)} ${format(r.value).padStart(12)} ${(r.rss_mb?.toFixed(0) ?? '-').padStart(8)}   ${ratio.padEnd(8)} ${extras}`.trimEnd());
  }
  return lines.join('\n');
}

function ensurePeersInstalled(): void {
  if (existsSync(join(here, 'node_modules'))) return;
  console.error('bench: installing the peers in bench/ (npm install --prefix bench) …');
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) console.error('bench: peer install failed; those peers will be reported as skipped');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const runsIndex = argv.indexOf('--runs');
  const runs = runsIndex >= 0 ? Number(argv[runsIndex + 1]) : quick ? 1 : 3;
  const htmlIndex = argv.indexOf('--html');
  const html = htmlIndex >= 0 ? argv[htmlIndex + 1] : undefined;
  if (htmlIndex >= 0 && (html === undefined || html.startsWith('--'))) {
    console.error('bench: --html needs a file name');
    process.exitCode = 2;
    return;
  }
  const measured: { c: Case; rows: Row[] }[] = [];
  const wanted = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--runs' && argv[i - 1] !== '--html');
  const names = wanted.length ? wanted : Object.keys(groups);
  for (const name of names) {
    if (!groups[name]) {
      console.error(`bench: unknown group ${JSON.stringify(name)}; groups: ${Object.keys(groups).join(', ')}`);
      process.exitCode = 2;
      return;
    }
  }
  ensurePeersInstalled();
  for (const name of names) {
    const { cases } = await groups[name]!();
    for (const c of cases(quick)) {
      const rows = await runCase(c, runs);
      measured.push({ c, rows });
      if (json) for (const r of rows) console.log(JSON.stringify(r));
      else console.log(`${table(c, rows)}\n`);
    }
  }
  if (html !== undefined) {
    await writeHtmlReport(html, htmlReport(measured, argv));
    console.error(`bench: charts written to ${html}`);
  }
}

/** Each case as bars of "spate vs impl" (the table's ratio; above 1, spate is ahead), and its table. */
function htmlReport(measured: { c: Case; rows: Row[] }[], argv: string[]): HtmlReport {
  const sections: ReportSection[] = [];
  for (const { c, rows } of measured) {
    const spate = rows.find((r) => r.impl === 'spate' && r.value !== null);
    const ratio = (r: Row) => (spate && r.value !== null ? (c.higherIsBetter ? spate.value! / r.value : r.value / spate.value!) : null);
    const peers = rows.filter((r) => r.impl !== 'spate' && ratio(r) !== null);
    const title = `${c.bench} (${c.unit}, ${c.higherIsBetter ? 'higher' : 'lower'} is better)`;
    if (peers.length > 0) sections.push({ title: `${c.bench}: spate vs each peer (×; above 1, spate is ahead)`, bars: { labels: peers.map((r) => r.impl), values: peers.map((r) => Number(ratio(r)!.toFixed(3))), unit: '×' } });
    sections.push({
      title,
      table: {
        columns: ['impl', 'value', 'rss MB', 'spate vs impl', 'more'],
        rows: rows.map((r) => [r.impl, r.value === null ? `skipped (${r.skipped})` : format(r.value), r.rss_mb?.toFixed(0) ?? '–', ratio(r) === null || r.impl === 'spate' ? '' : `${ratio(r)!.toFixed(2)}×`,
          Object.entries(r).filter(([k, v]) => /_(ms|us|kb|pct)$/.test(k) && typeof v === 'number').map(([k, v]) => `${k} ${(v as number).toFixed(1)}`).join(', ')]),
      },
    });
  }
  return { title: 'spate benchmarks', summary: { command: `npm run bench -- ${argv.join(' ')}`, node: process.version, date: new Date().toISOString().slice(0, 16).replace('T', ' ') }, sections };
}

await main();

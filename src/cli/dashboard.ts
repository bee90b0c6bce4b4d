// The CLI side of spate/dash: the `--dashboard[=port]` and `--report-html FILE` options, and
// one start function a command calls; it hands back the registry the job publishes into and a
// `finish()` that writes the report and closes the dashboard. Commands add about three lines.
// Only commander and types load with the command: the dashboard's modules (and the crawl store a
// report reads) are imported when --dashboard or --report-html is given.
import { Option, InvalidArgumentError } from 'commander';
import type { PageRecord, CrawlSummary } from '../crawl/crawler.ts';
import type { Dashboard } from '../dash/server.ts';
import type { Recorder } from '../dash/recorder.ts';
import type { ReportSection } from '../dash/page.ts';
import type { Frame } from '../dash/frames.ts';
import type { Downloader, DownloadSummary } from '../download/downloader.ts';
import type { MetricsRegistry } from '../observe/registry.ts';

/** What the options leave in a command's `opts`. */
export interface DashboardCliOptions {
  /** `true` (a free port) or a port number. */
  dashboard?: boolean | number | undefined;
  reportHtml?: string | undefined;
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) {
    throw new InvalidArgumentError(`must be a port number (0-65535); write --dashboard=PORT, or put --dashboard after the URLs.`);
  }
  return n;
}

/** `--dashboard[=port]`: a live dashboard on 127.0.0.1 (a free port unless given). */
export function dashboardOption(): Option {
  return new Option('--dashboard [port]', 'serve a live dashboard on 127.0.0.1 while the job runs (port 0 or none: a free one)').argParser(port);
}

/** `--report-html <file>`: one self-contained HTML report at the end. */
export function reportHtmlOption(): Option {
  return new Option('--report-html <file>', 'write an HTML report of the run (one file, works offline) at the end');
}

/** What the job ends with, for its report. */
export type JobEnd =
  | { kind: 'crawl'; summary: CrawlSummary; statePath: string }
  | { kind: 'download'; summary: DownloadSummary; downloader: Downloader }
  | { kind: 'other'; summary?: Record<string, string | number> | undefined };

/** A job's dashboard and/or report recorder. */
export interface JobDashboard {
  /** Pass it to the job (`registry:` option). */
  readonly registry: MetricsRegistry;
  /** The live dashboard, when `--dashboard` was given. */
  readonly dashboard: Dashboard | undefined;
  /** Writes the report (if asked), closes the dashboard. Never throws: says what failed on stderr and returns false. */
  finish(end: JobEnd): Promise<boolean>;
}

/**
 * Starts what `--dashboard` / `--report-html` ask for, or returns undefined when neither was
 * given (the job then runs with no registry at all). `registry` lets a server pass its own.
 */
export async function startJobDashboard(command: string, opts: DashboardCliOptions, given?: MetricsRegistry): Promise<JobDashboard | undefined> {
  if (opts.dashboard === undefined && opts.reportHtml === undefined) return undefined;
  const [{ MetricsRegistry }, { collectProcessMetrics }, { startDashboard }, { Recorder }] = await Promise.all([
    import('../observe/registry.ts'), import('../observe/process-metrics.ts'), import('../dash/server.ts'), import('../dash/recorder.ts'),
  ]);
  const registry = given ?? new MetricsRegistry();
  const title = `spate ${command}`;
  let dashboard: Dashboard | undefined;
  let recorder: Recorder;
  let stopProcess = () => {};
  if (opts.dashboard !== undefined) {
    dashboard = await startDashboard({ registry, port: typeof opts.dashboard === 'number' ? opts.dashboard : 0, title });
    recorder = dashboard.recorder;
    process.stderr.write(`spate ${command}: dashboard at ${dashboard.url}\n`);
  } else {
    stopProcess = collectProcessMetrics(registry);
    recorder = new Recorder({ registry }).start();
  }
  return {
    registry,
    dashboard,
    async finish(end) {
      let ok = true;
      try {
        if (dashboard) await dashboard.close();
        else await recorder.stop();
        if (opts.reportHtml !== undefined) {
          await writeReport(opts.reportHtml, title, recorder.frames, end);
          process.stderr.write(`spate ${command}: report written to ${opts.reportHtml}\n`);
        }
      } catch (error) {
        process.stderr.write(`spate ${command}: could not write the report: ${(error as Error).message}\n`);
        ok = false;
      } finally {
        stopProcess();
      }
      return ok;
    },
  };
}

const GAUGES = new Set(['connections', 'paused', 'users', 'rooms', 'inFlight', 'concurrency', 'queued']);
const TROUBLE = new Set(['dropped', 'rateLimited', 'slow', 'timedOut', 'duplicates']);

/** Publishes a server's `stats()` (plain numbers) into `registry`: levels as gauges, events as counters, trouble as errors by kind. */
export function publishStats(registry: MetricsRegistry, prefix: string, stats: () => Readonly<Record<string, number>>): () => void {
  return registry.collect((r) => {
    for (const [key, value] of Object.entries(stats())) {
      if (typeof value !== 'number') continue;
      const name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      if (GAUGES.has(key)) r.gauge(`${prefix}_${name}`).set(value);
      else if (TROUBLE.has(key)) r.counter(`${prefix}_errors_total`, { kind: name }).set(value);
      else r.counter(`${prefix}_${name}_total`).set(value);
    }
  });
}

interface Server {
  stats(): object;
  close(options: { graceMs: number }): Promise<void>;
}

/**
 * Wraps a server's start function for `--dashboard`: the dashboard starts first, the server's
 * `stats()` are published into it, and the server's `close()` also closes the dashboard.
 * Without `--dashboard`, `start` is returned as it is.
 */
export function withDashboard<S extends Server>(command: string, opts: DashboardCliOptions, start: () => Promise<S>): () => Promise<S> {
  if (opts.dashboard === undefined) return start;
  return async () => {
    const dash = (await startJobDashboard(command, { dashboard: opts.dashboard }))!;
    let server: S;
    try {
      server = await start();
    } catch (error) {
      await dash.finish({ kind: 'other' });
      throw error;
    }
    publishStats(dash.registry, `spate_${command.replace(/^serve /, '').replace(/\W/g, '_')}`, () => server.stats() as Record<string, number>);
    const close = server.close.bind(server);
    server.close = async (options) => {
      await close(options);
      await dash.finish({ kind: 'other' });
    };
    return server;
  };
}

const TOP = 20;
const FAILURES = 200;

function bars(map: Map<string, number>, sortNumeric = true): { labels: string[]; values: number[] } {
  const keys = [...map.keys()].sort((a, b) => (sortNumeric ? Number(a) - Number(b) : a.localeCompare(b)));
  return { labels: keys, values: keys.map((k) => map.get(k)!) };
}

function add(map: Map<string, number>, key: string, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

async function writeReport(path: string, title: string, frames: readonly Frame[], end: JobEnd): Promise<void> {
  const { writeHtmlReport } = await import('../dash/report.ts');
  if (end.kind === 'crawl') {
    const { SqliteCrawlStore } = await import('../crawl/store.ts');
    return writeHtmlReport(path, crawlReport(title, frames, end.summary, SqliteCrawlStore.open(end.statePath)));
  }
  if (end.kind === 'download') return writeHtmlReport(path, downloadReport(title, frames, end.summary, end.downloader));
  return writeHtmlReport(path, { title, frames, summary: end.summary });
}

interface HostFigures {
  items: number;
  failed: number;
  bytes: number;
  ms: number;
}

function hostSection(title: string, hosts: Map<string, HostFigures>): ReportSection {
  return {
    title,
    table: {
      columns: ['host', 'items', 'failed', 'MB', 'mean ms'],
      rows: [...hosts].sort((a, b) => b[1].items - a[1].items).map(([h, f]) => [h, f.items, f.failed, (f.bytes / 1e6).toFixed(2), f.items > 0 ? Math.round(f.ms / f.items) : 0]),
    },
  };
}

/** Keeps the `n` largest by `key`. */
function top<T>(list: T[], item: T, key: (t: T) => number, n: number): void {
  if (list.length < n) list.push(item);
  else if (key(item) > key(list[list.length - 1]!)) list[list.length - 1] = item;
  else return;
  list.sort((a, b) => key(b) - key(a));
}

function crawlReport(title: string, frames: readonly Frame[], summary: CrawlSummary, store: { records(after: number, limit: number): { seq: number; record: string }[]; close(): void }) {
  const statuses = new Map<string, number>();
  const depths = new Map<string, number>();
  const hosts = new Map<string, HostFigures>();
  const slowest: PageRecord[] = [];
  const failures: PageRecord[] = [];
  let failedTotal = 0;
  try {
    let after = 0;
    for (;;) {
      const batch = store.records(after, 1000);
      if (batch.length === 0) break;
      for (const { seq, record } of batch) {
        after = seq;
        const page = JSON.parse(record) as PageRecord;
        add(statuses, page.status === null ? 'none' : String(page.status));
        add(depths, String(page.depth));
        const host = new URL(page.url).host;
        const h = hosts.get(host) ?? { items: 0, failed: 0, bytes: 0, ms: 0 };
        h.items++;
        h.bytes += page.bytes;
        h.ms += page.fetchMs;
        if (page.error !== null) {
          h.failed++;
          failedTotal++;
          if (failures.length < FAILURES) failures.push(page);
        }
        hosts.set(host, h);
        top(slowest, page, (p) => p.fetchMs, TOP);
      }
    }
  } finally {
    store.close();
  }
  return {
    title,
    frames,
    summary: {
      'pages ok': summary.done,
      failed: summary.failed,
      'blocked by robots.txt': summary.blocked,
      'time (s)': (summary.elapsedMs / 1000).toFixed(1),
      'pages/s': summary.rate.toFixed(1),
      ...(summary.interrupted ? { interrupted: 'yes (resume with --resume)' } : {}),
    },
    sections: [
      { title: 'Status codes', bars: { ...bars(statuses), unit: 'pages' } },
      { title: 'Depth distribution', bars: { ...bars(depths), unit: 'pages' } },
      { title: `Slowest ${slowest.length} pages`, table: { columns: ['url', 'ms', 'status', 'bytes'], rows: slowest.map((p) => [p.url, p.fetchMs, p.status ?? '–', p.bytes]) } },
      { title: failedTotal > failures.length ? `Failures (first ${failures.length} of ${failedTotal})` : `Failures (${failedTotal})`, table: { columns: ['url', 'status', 'error'], rows: failures.map((p) => [p.url, p.status ?? '–', p.error ?? '']) } },
      hostSection('Per host', hosts),
    ],
  };
}

function downloadReport(title: string, frames: readonly Frame[], summary: DownloadSummary, downloader: Downloader) {
  const outcomes = new Map<string, number>();
  const hosts = new Map<string, HostFigures>();
  const slowest: { url: string; ms: number; bytes: number }[] = [];
  const failures: { url: string; error: string; attempts: number }[] = [];
  let failedTotal = 0;
  for (const r of downloader.results()) {
    add(outcomes, r.status);
    let host = '?';
    try {
      host = new URL(r.url).host;
    } catch {
      // A list line that is no URL still has its row, under '?'.
    }
    const h = hosts.get(host) ?? { items: 0, failed: 0, bytes: 0, ms: 0 };
    h.items++;
    h.bytes += r.bytes;
    h.ms += r.ms ?? 0;
    if (r.status === 'failed') {
      h.failed++;
      failedTotal++;
      if (failures.length < FAILURES) failures.push({ url: r.url, error: r.error ?? '', attempts: r.attempts });
    }
    hosts.set(host, h);
    if (r.ms !== null) top(slowest, { url: r.url, ms: r.ms, bytes: r.bytes }, (x) => x.ms, TOP);
  }
  return {
    title,
    frames,
    summary: {
      downloaded: summary.success,
      skipped: summary.skipped,
      failed: summary.failed,
      'of': summary.total,
      MB: (summary.totalBytes / 1e6).toFixed(1),
      'time (s)': summary.seconds.toFixed(1),
      'MB/s': summary.mbPerSecond.toFixed(1),
    },
    sections: [
      { title: 'Outcomes', bars: { ...bars(outcomes, false), unit: 'files' } },
      { title: `Slowest ${slowest.length} files`, table: { columns: ['url', 'ms', 'bytes'], rows: slowest.map((x) => [x.url, Math.round(x.ms), x.bytes]) } },
      { title: failedTotal > failures.length ? `Failures (first ${failures.length} of ${failedTotal})` : `Failures (${failedTotal})`, table: { columns: ['url', 'attempts', 'error'], rows: failures.map((x) => [x.url, x.attempts, x.error]) } },
      hostSection('Per host', hosts),
    ],
  };
}

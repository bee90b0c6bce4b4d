// `spate download <list|-> -d DIR`: a resumable batch download, progress on stderr, a summary
// (or JSON lines) on stdout, an optional JSON report.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { Downloader, type DownloadStats, PARTIAL_DIR, STATE_FILE } from '../download/downloader.ts';
import { parseList } from '../download/list.ts';
import { checkStateFile } from './crawl.ts';
import { EXIT, noteCursorHidden, runJob, usageError } from './job.ts';
import { checkOutputDir, checkOutputFile, durationOption, integer } from './parse.ts';
import { type DashboardCliOptions, dashboardOption, reportHtmlOption, startJobDashboard } from './dashboard.ts';

export interface DownloadCliOptions extends DashboardCliOptions {
  outDir: string;
  concurrency: number;
  perHost: number;
  retries: number;
  /** Per-file deadline in ms. */
  timeout?: number | undefined;
  adaptive?: boolean | undefined;
  state?: string | undefined;
  job?: string | undefined;
  resume?: boolean | undefined;
  fresh?: boolean | undefined;
  report?: string | undefined;
  json?: boolean | undefined;
  quiet?: boolean | undefined;
  verbose?: boolean | undefined;
  progressInterval: number;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const rateOf = (s: DownloadStats) => (s.seconds > 0 ? s.bytes / 1e6 / s.seconds : 0).toFixed(1);

function plainLine(s: DownloadStats): string {
  return `${s.done} done, ${s.failed} failed, ${s.skipped} skipped, ${s.inFlight} in flight (limit ${s.limit}), ${mb(s.bytes)} MB at ${rateOf(s)} MB/s, ${s.errors} errors`;
}

/**
 * A progress bar that shows a fraction only once the list has been read (the total is known
 * then); before, counts and rates. The last frame is drawn from the final stats.
 */
function progressBar(): { update(s: DownloadStats): void; stop(): void } {
  const known = new cliProgress.SingleBar({
    format: 'download {bar} {percentage}% | {mb}/{total_mb} MB | {rate} MB/s | ETA {eta_formatted} | {files} files, {failed} failed | {inflight} in flight',
    hideCursor: true,
    etaBuffer: 50,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  const unknown = new cliProgress.SingleBar({
    format: 'download {mb} MB | {rate} MB/s | {files} files, {failed} failed | {inflight} in flight | reading the list',
    hideCursor: true,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  noteCursorHidden();
  let current: cliProgress.SingleBar | undefined;
  const payload = (s: DownloadStats) => ({
    mb: mb(s.bytes), total_mb: mb(Math.max(s.expectedBytes, s.bytes)), rate: rateOf(s),
    files: s.done + s.skipped, failed: s.failed, inflight: s.inFlight,
  });
  return {
    update(s) {
      const bar = s.inputDone ? known : unknown;
      const total = Math.max(1, s.expectedBytes, s.bytes);
      if (current !== bar) {
        current?.stop();
        current = bar;
        bar.start(s.inputDone ? total : 0, s.inputDone ? s.bytes : 0, payload(s));
        return;
      }
      if (s.inputDone) bar.setTotal(total);
      bar.update(s.inputDone ? s.bytes : 0, payload(s));
    },
    stop() {
      current?.stop();
    },
  };
}

/** Runs a download job as the CLI does; resolves with the exit code (0, 1, 2, or 130 when `signal` aborted). */
export async function runDownloadCommand(list: string, opts: DownloadCliOptions, signal?: AbortSignal): Promise<number> {
  if (opts.resume && opts.fresh) return usageError('download', '--resume and --fresh exclude each other');
  checkOutputDir(opts.outDir, '--out-dir');
  if (opts.report !== undefined) checkOutputFile(opts.report, '--report');
  if (list !== '-' && !existsSync(list)) return usageError('download', `the list ${list} does not exist`);
  if (opts.state !== undefined && /^postgres(ql)?:\/\//.test(opts.state)) return runSharedDownloadCommand(list, opts, signal);
  const statePath = opts.state ?? join(opts.outDir, STATE_FILE);
  checkStateFile(statePath, '--state');
  if (existsSync(statePath) && !opts.resume && !opts.fresh) {
    return usageError('download', `${statePath} holds the state of an earlier run; pass --resume to continue it, or --fresh to start over`);
  }
  if (opts.fresh) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${statePath}${suffix}`, { force: true });
    rmSync(join(opts.outDir, PARTIAL_DIR), { recursive: true, force: true });
  }
  const out = process.stdout;
  const tty = process.stderr.isTTY === true && !opts.json && !opts.quiet;
  const dash = await startJobDashboard('download', opts);
  const downloader = new Downloader({
    registry: dash?.registry,
    out: opts.outDir,
    concurrency: opts.concurrency,
    perHost: opts.perHost,
    retries: opts.retries,
    fileTimeoutMs: opts.timeout,
    adaptive: opts.adaptive ?? false,
    statePath,
    resume: true,
    reserved: opts.report ? [opts.report] : [],
    signal,
    onProgress: opts.json
      ? (r) => out.write(`${JSON.stringify(r)}\n`)
      : opts.verbose
        ? (r) => process.stderr.write(`spate download: ${r.status} ${r.url}${r.error ? ` (${r.error})` : ''}\n`)
        : undefined,
  });
  const bar = tty ? progressBar() : undefined;
  const tick = () => {
    const s = downloader.stats();
    if (bar) bar.update(s);
    else if (!opts.json && !opts.quiet) process.stderr.write(`spate download: ${plainLine(s)}\n`);
  };
  const timer = setInterval(tick, tty ? 200 : opts.progressInterval);
  let interrupted = false;
  try {
    try {
      await downloader.run(parseList(list));
    } catch (error) {
      if (!signal?.aborted) throw error;
      interrupted = true;
    } finally {
      clearInterval(timer);
      bar?.update(downloader.stats());
      bar?.stop();
    }
    const summary = downloader.summary();
    const reported = dash ? await dash.finish({ kind: 'download', summary, downloader }) : true;
    if (opts.report) await downloader.writeReport(opts.report);
    for (const e of downloader.listErrors()) process.stderr.write(`spate download: line ${e.line}: ${e.error}\n`);
    if (opts.json) {
      out.write(`${JSON.stringify({ summary: { ...summary, interrupted } })}\n`);
    } else {
      for (const r of downloader.results()) if (r.status === 'failed') process.stderr.write(`spate download: failed ${r.url}: ${r.error}\n`);
      if (!opts.quiet || interrupted) {
        process.stderr.write(`spate download: ${interrupted ? 'interrupted: ' : ''}${summary.success} downloaded, ${summary.skipped} skipped, ${summary.failed} failed of ${summary.total}`
          + `${summary.listErrors ? ` (${summary.listErrors} bad list lines)` : ''}; ${mb(summary.totalBytes)} MB in ${summary.seconds.toFixed(2)} s (${summary.mbPerSecond.toFixed(1)} MB/s)\n`);
      }
      if (interrupted) process.stderr.write('spate download: run the same command with --resume to continue\n');
    }
    if (interrupted) return EXIT.interrupted;
    return summary.failed > 0 || summary.listErrors > 0 || !reported ? EXIT.failed : EXIT.ok;
  } finally {
    await downloader.close();
  }
}

/** Adds `spate download`. */
export function register(program: Command): void {
  program
    .command('download')
    .description('Download a list of URLs into a folder: bounded and per-host concurrency, retries that resume with Range, atomic placement, --resume after Ctrl-C or a crash (docs/download.md).')
    .argument('<list>', 'a file of lines `URL`, `URL<TAB>name` or `URL<TAB>name<TAB>sha256:<hex>`, or - for stdin')
    .requiredOption('-d, --out-dir <dir>', 'the folder the files go to (nothing is written outside it)')
    // -o is a file in every spate command: say where the folder goes instead of "unknown option".
    .addOption(new Option('-o, --output <file>').hideHelp().argParser(() => {
      throw new InvalidArgumentError('download writes into a folder: use -d/--out-dir (-o is always a file)');
    }))
    .option('-c, --concurrency <n>', 'files in flight at once (the maximum, with --adaptive)', integer(1), 8)
    .option('--per-host <n>', 'files in flight per host', integer(1), 4)
    .option('--retries <n>', 'attempts in a row without progress before a file fails', integer(0), 5)
    .addOption(durationOption('--timeout <duration>', 'a deadline per file, all attempts included'))
    .option('--adaptive', 'move the concurrency with measured throughput and errors')
    .option('--state <file|url>', `the job's state file (default: <out-dir>/${STATE_FILE}), or a postgres:// URL shared by many workers`)
    .option('--job <name>', 'with a postgres:// state: the job\'s name (default: from the list\'s file name)')
    .option('--resume', 'continue the job in the state file: skip finished files, continue partial ones')
    .option('--fresh', 'delete the state file and partial files and start over')
    .option('--report <file>', 'write a JSON report: totals and one record per URL')
    .option('--json', 'one JSON line per file and a summary line on stdout, no progress display')
    .option('-q, --quiet', 'no progress and no summary (errors only)')
    .option('-v, --verbose', 'a line on stderr for every file')
    .addOption(durationOption('--progress-interval <duration>', 'how often plain progress lines are printed when stderr is not a terminal', 2000))
    .addOption(dashboardOption()).addOption(reportHtmlOption())
    .addHelpText('after', '\nExit codes: 0 all done, 1 some failed, 2 usage, 130 interrupted, 141 stdout closed by its reader.\n\nExample:\n  spate download urls.txt -d files -c 16 --report report.json\n  spate download urls.txt -d files --resume\n')
    .action((list: string, opts: DownloadCliOptions) =>
      runJob('download', ({ signal }) => runDownloadCommand(list, opts, signal), {
        interruptMessage: 'stopping (parts are kept)',
        quiet: opts.quiet === true,
      }));
}

/** `--state postgres://…`: this process is one worker of a download job shared through Postgres. */
async function runSharedDownloadCommand(list: string, opts: DownloadCliOptions, signal?: AbortSignal): Promise<number> {
  const { createHash } = await import('node:crypto');
  const { hostname } = await import('node:os');
  const { basename, resolve } = await import('node:path');
  const { PgSqlClient, PostgresWorkQueue, schemaName } = await import('../store/index.ts');
  const { runSharedDownload } = await import('../download/shared.ts');
  if (opts.job === undefined && list === '-') {
    return usageError('download', 'a shared job read from stdin needs --job <name>');
  }
  const schema = opts.job === undefined ? schemaName(`spate_download_${basename(list)}`) : schemaName(opts.job);
  const client = new PgSqlClient(opts.state!);
  try {
    const owner = `${hostname()}-${createHash('sha256').update(resolve(opts.outDir)).digest('hex').slice(0, 8)}`;
    const queue = await PostgresWorkQueue.open(client, { schema, owner });
    const s = await runSharedDownload(parseList(list), {
      queue,
      out: opts.outDir,
      concurrency: opts.concurrency,
      perHost: opts.perHost,
      retries: opts.retries,
      fileTimeoutMs: opts.timeout,
      adaptive: opts.adaptive ?? false,
      signal,
      onProgress: opts.json ? (r) => process.stdout.write(`${JSON.stringify(r)}\n`) : undefined,
    });
    await queue.close();
    if (opts.json) process.stdout.write(`${JSON.stringify({ summary: { ...s, job: schema, worker: owner } })}\n`);
    else if (!opts.quiet || s.interrupted) process.stderr.write(`spate download: ${s.interrupted ? 'interrupted: ' : ''}this worker: ${s.done} downloaded, ${s.skipped} skipped, ${s.failed} failed; job ${schema}: ${s.jobFinished} of ${s.jobTotal} finished\n`);
    if (s.interrupted) return EXIT.interrupted;
    return s.failed > 0 || s.listErrors > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await client.close();
  }
}

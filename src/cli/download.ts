// `spate download <list|-> --out DIR`: a resumable batch download, progress on stderr, a summary
// (or JSON lines) on stdout, an optional JSON report.
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { join } from 'node:path';
import { Downloader, type DownloadStats, STATE_FILE } from '../download/downloader.ts';
import { parseList } from '../download/list.ts';
import { integer, positive } from './parse.ts';

export interface DownloadCliOptions {
  out: string;
  concurrency: number;
  perHost: number;
  retries: number;
  timeout?: number | undefined;
  adaptive?: boolean | undefined;
  state?: string | undefined;
  job?: string | undefined;
  resume?: boolean | undefined;
  report?: string | undefined;
  json?: boolean | undefined;
  progressInterval: number;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function plainLine(s: DownloadStats): string {
  const rate = s.seconds > 0 ? s.bytes / 1e6 / s.seconds : 0;
  return `download: ${s.done} done, ${s.failed} failed, ${s.skipped} skipped, ${s.inFlight} in flight (limit ${s.limit}), ${mb(s.bytes)} MB at ${rate.toFixed(1)} MB/s, ${s.errors} errors`;
}

/** Runs a download job as the CLI does; resolves with the exit code (0, 1, or 130 when `signal` aborted). */
export async function runDownloadCommand(list: string, opts: DownloadCliOptions, signal?: AbortSignal): Promise<number> {
  if (opts.state !== undefined && /^postgres(ql)?:\/\//.test(opts.state)) return runSharedDownloadCommand(list, opts, signal);
  const out = process.stdout;
  const tty = process.stderr.isTTY === true && !opts.json;
  const downloader = new Downloader({
    out: opts.out,
    concurrency: opts.concurrency,
    perHost: opts.perHost,
    retries: opts.retries,
    fileTimeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
    adaptive: opts.adaptive ?? false,
    statePath: opts.state ?? join(opts.out, STATE_FILE),
    resume: opts.resume ?? false,
    signal,
    onProgress: opts.json ? (r) => out.write(`${JSON.stringify(r)}\n`) : undefined,
  });
  const bar = tty
    ? new cliProgress.SingleBar({
      format: '{bar} {percentage}% | {mb}/{total_mb} MB | {rate} MB/s | ETA {eta_formatted} | {files} files, {failed} failed | {inflight} in flight',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(1, 0, { mb: '0.0', total_mb: '?', rate: '0.0', files: 0, failed: 0, inflight: 0 });
  const tick = () => {
    const s = downloader.stats();
    if (bar) {
      const known = s.inputDone;
      bar.setTotal(known ? Math.max(1, s.expectedBytes, s.bytes) : Math.max(1, s.bytes * 2));
      bar.update(s.bytes, {
        mb: mb(s.bytes),
        total_mb: known ? mb(s.expectedBytes) : '?',
        rate: (s.seconds > 0 ? s.bytes / 1e6 / s.seconds : 0).toFixed(1),
        files: s.done + s.skipped,
        failed: s.failed,
        inflight: s.inFlight,
      });
    } else if (!opts.json) {
      process.stderr.write(`${plainLine(s)}\n`);
    }
  };
  const timer = setInterval(tick, tty ? 200 : opts.progressInterval);
  let interrupted = false;
  try {
    await downloader.run(parseList(list));
  } catch (error) {
    if (!signal?.aborted) throw error;
    interrupted = true;
  } finally {
    clearInterval(timer);
    bar?.stop();
  }
  try {
    const summary = downloader.summary();
    if (opts.report) await downloader.writeReport(opts.report);
    for (const e of downloader.listErrors()) process.stderr.write(`download: line ${e.line}: ${e.error}\n`);
    if (opts.json) {
      out.write(`${JSON.stringify({ summary: { ...summary, interrupted } })}\n`);
    } else {
      for (const r of downloader.results()) if (r.status === 'failed') process.stderr.write(`download: failed ${r.url}: ${r.error}\n`);
      out.write(`${interrupted ? 'interrupted: ' : ''}${summary.success} downloaded, ${summary.skipped} skipped, ${summary.failed} failed of ${summary.total}`
        + `${summary.listErrors ? ` (${summary.listErrors} bad list lines)` : ''}; ${mb(summary.total_size)} MB in ${summary.seconds.toFixed(2)} s (${summary.mb_per_s.toFixed(1)} MB/s)\n`);
      if (interrupted) out.write('run the same command with --resume to continue\n');
    }
    if (interrupted) return 130;
    return summary.failed > 0 || summary.listErrors > 0 ? 1 : 0;
  } finally {
    await downloader.close();
  }
}

/** Adds `spate download`. */
export function register(program: Command): void {
  program
    .command('download')
    .description('Download a list of URLs into a directory: bounded and per-host concurrency, retries that resume with Range, atomic placement, --resume after Ctrl-C or a crash (docs/download.md).')
    .argument('<list>', 'a file of lines `URL`, `URL<TAB>name` or `URL<TAB>name<TAB>sha256:<hex>`, or - for stdin')
    .requiredOption('-o, --out <dir>', 'the output directory (nothing is written outside it)')
    .option('-c, --concurrency <n>', 'files in flight at once (the maximum, with --adaptive)', integer(1), 8)
    .option('--per-host <n>', 'files in flight per host', integer(1), 4)
    .option('--retries <n>', 'attempts in a row without progress before a file fails', integer(0), 5)
    .option('--timeout <seconds>', 'a deadline per file, all attempts included', positive('a number of seconds'))
    .option('--adaptive', 'move the concurrency with measured throughput and errors')
    .option('--state <file|url>', `the job's state file (default: <out>/${STATE_FILE}), or a postgres:// URL shared by many workers`)
    .option('--job <name>', 'with a postgres:// state: the job\'s name (default: from the list\'s file name)')
    .option('--resume', 'continue the job in the state file: skip finished files, continue partial ones')
    .option('--report <file>', 'write a JSON report: totals and one record per URL')
    .option('--json', 'one JSON line per file and a summary line on stdout, no progress display')
    .option('--progress-interval <ms>', 'how often plain progress lines are printed when stderr is not a terminal', integer(1), 2000)
    .addHelpText('after', '\nExit codes: 0 all done, 1 some failed, 2 usage, 130 interrupted.\n\nExample:\n  spate download urls.txt --out files --concurrency 16 --report report.json\n  spate download urls.txt --out files --resume\n')
    .action(async (list: string, opts: DownloadCliOptions) => {
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\ndownload: stopping (parts are kept; Ctrl-C again to quit now)\n');
        controller.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        process.exitCode = await runDownloadCommand(list, opts, controller.signal);
      } catch (error) {
        process.stderr.write(`spate download: ${(error as Error).message}\n`);
        process.exitCode = (error as { code?: string }).code === 'SPATE_INVALID_ARGUMENT' || (error as { code?: string }).code === 'ENOENT' ? 2 : 1;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}

/** `--state postgres://…`: this process is one worker of a download job shared through Postgres. */
async function runSharedDownloadCommand(list: string, opts: DownloadCliOptions, signal?: AbortSignal): Promise<number> {
  const { createHash } = await import('node:crypto');
  const { hostname } = await import('node:os');
  const { basename, resolve } = await import('node:path');
  const { PgSqlClient, PostgresWorkQueue, schemaName } = await import('../store/index.ts');
  const { runSharedDownload } = await import('../download/shared.ts');
  if (opts.job === undefined && list === '-') {
    process.stderr.write('spate download: a shared job read from stdin needs --job <name> (see spate download --help)\n');
    return 2;
  }
  const schema = opts.job === undefined ? schemaName(`spate_download_${basename(list)}`) : schemaName(opts.job);
  const client = new PgSqlClient(opts.state!);
  try {
    const owner = `${hostname()}-${createHash('sha256').update(resolve(opts.out)).digest('hex').slice(0, 8)}`;
    const queue = await PostgresWorkQueue.open(client, { schema, owner });
    const s = await runSharedDownload(parseList(list), {
      queue,
      out: opts.out,
      concurrency: opts.concurrency,
      perHost: opts.perHost,
      retries: opts.retries,
      fileTimeoutMs: opts.timeout === undefined ? undefined : opts.timeout * 1000,
      adaptive: opts.adaptive ?? false,
      signal,
      onProgress: opts.json ? (r) => process.stdout.write(`${JSON.stringify(r)}\n`) : undefined,
    });
    await queue.close();
    if (opts.json) process.stdout.write(`${JSON.stringify({ summary: { ...s, job: schema, worker: owner } })}\n`);
    else process.stdout.write(`${s.interrupted ? 'interrupted: ' : ''}this worker: ${s.done} downloaded, ${s.skipped} skipped, ${s.failed} failed; job ${schema}: ${s.jobFinished} of ${s.jobTotal} finished\n`);
    if (s.interrupted) return 130;
    return s.failed > 0 || s.listErrors > 0 ? 1 : 0;
  } finally {
    await client.close();
  }
}

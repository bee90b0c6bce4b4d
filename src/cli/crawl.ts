// `spate crawl <url…>`: a resumable breadth-first crawl, JSON lines out, progress on stderr.
import { existsSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CrawlScope, CrawlStats } from '../crawl/crawler.ts';
import { normalizeUrl } from '../crawl/normalize.ts';
import { DEFAULT_USER_AGENT } from '../crawl/robots.ts';
import type { CrawlStore } from '../crawl/store.ts';
import { EXIT, noteCursorHidden, runJob, usageError } from './job.ts';
import { checkOutputDir, checkOutputFile, durationOption, integer, positive } from './parse.ts';
import { type DashboardCliOptions, dashboardOption, reportHtmlOption, startJobDashboard } from './dashboard.ts';

export interface CrawlCliOptions extends DashboardCliOptions {
  maxDepth?: number;
  maxPages?: number;
  maxPagesPerHost?: number;
  scope: CrawlScope;
  include: RegExp[];
  exclude: RegExp[];
  concurrency: number;
  perHost: number;
  rate?: number;
  robots: boolean;
  followNofollow?: boolean;
  userAgent: string;
  state?: string;
  job?: string;
  worker?: string;
  lease?: number;
  resume?: boolean;
  fresh?: boolean;
  output: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  sitemap?: boolean;
  progressInterval: number;
}

function regexList(value: string, previous: RegExp[]): RegExp[] {
  try {
    return [...previous, new RegExp(value)];
  } catch (error) {
    throw new InvalidArgumentError(`is not a valid regular expression (${(error as Error).message}).`);
  }
}

/** Hex SHA-256 of `text` (node:crypto is loaded on first use: `crawl --help` does not need it). */
function sha256(text: string): string {
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(text).digest('hex');
}

/** The default state file of a crawl: one per set of seeds. */
export function defaultStatePath(seeds: readonly string[]): string {
  const key = [...seeds].map((s) => normalizeUrl(s) ?? s).sort().join('\n');
  // node:crypto on first use, not at start-up (`spate crawl --help` does not need it).
  return join('.spate', `crawl-${sha256(key).slice(0, 12)}.sqlite`);
}

/** Requests per second as a sliding-window limit (fractions become one per 1/rate seconds). */
function rateLimit(rate: number): { limit: number; interval: number } {
  return rate >= 1 ? { limit: Math.round(rate), interval: 1000 } : { limit: 1, interval: Math.round(1000 / rate) };
}

function line(s: CrawlStats): string {
  const limit = s.limit === undefined ? '' : `/${s.limit}`;
  return `${s.pages}${limit} pages, ${s.rate.toFixed(1)}/s, ${s.failed} failed, ${s.blocked} blocked, ${s.inFlight} in flight, ${s.queued} queued`;
}

/** Checks a state file path before any work: its folder can be made and the file created or opened. */
export function checkStateFile(path: string, option: string): void {
  checkOutputDir(dirname(path), option);
  if (existsSync(dirname(path))) checkOutputFile(path, option);
}

/**
 * Runs the crawl the CLI describes; returns the exit code. Progress goes to stderr (a bar on a
 * terminal, lines otherwise, JSON lines with --json, nothing with --quiet); pages go to --output.
 */
export async function runCrawlCommand(seeds: string[], opts: CrawlCliOptions, signal: AbortSignal): Promise<number> {
  // A crawl allocates per page and keeps little: a young generation that stays at its first size
  // costs no CPU here and keeps peak RSS near 130 MB instead of ~200 (BENCHMARKS.md, crawl).
  setFlagsFromString('--semi-space-growth-factor=1');
  for (const seed of seeds) {
    if (normalizeUrl(seed) === undefined) return usageError('crawl', `not an http(s) URL: ${seed}`);
  }
  if (opts.resume && opts.fresh) return usageError('crawl', '--resume and --fresh exclude each other');
  checkOutputFile(opts.output, '--output');
  const shared = opts.state !== undefined && isPostgresUrl(opts.state);
  let store: CrawlStore | undefined;
  if (shared) {
    const opened = await openSharedStore(seeds, opts);
    if (typeof opened === 'number') return opened;
    store = opened;
  }
  const statePath = opts.state ?? defaultStatePath(seeds);
  if (!shared) checkStateFile(statePath, '--state');
  if (!shared && existsSync(statePath)) {
    if (opts.fresh) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${statePath}${suffix}`, { force: true });
    } else if (!opts.resume) {
      return usageError('crawl', `${statePath} holds the state of an earlier run of this crawl; pass --resume to continue it, or --fresh to start over`);
    }
  }
  // Loaded here, not at the top: `spate crawl --help` stays as cheap as Node's own start-up.
  const tty = process.stderr.isTTY === true && !opts.json && !opts.quiet;
  // The progress bar's package only when there is a terminal to draw it on.
  const [{ Crawler }, cliProgress] = await Promise.all([import('../crawl/crawler.ts'), tty ? import('cli-progress').then((m) => m.default) : undefined]);
  const dash = await startJobDashboard('crawl', opts);
  const crawler = new Crawler({
    registry: dash?.registry,
    seeds,
    maxDepth: opts.maxDepth,
    maxPages: opts.maxPages,
    maxPagesPerHost: opts.maxPagesPerHost,
    scope: opts.scope,
    include: opts.include,
    exclude: opts.exclude,
    concurrency: opts.concurrency,
    perHostConcurrency: opts.perHost,
    perHostRate: opts.rate === undefined ? undefined : rateLimit(opts.rate),
    respectRobots: opts.robots,
    followNofollow: opts.followNofollow,
    userAgent: opts.userAgent,
    statePath: shared ? undefined : statePath,
    store,
    output: opts.output,
    sitemap: opts.sitemap,
    onPage: opts.verbose ? (page) => {
      process.stderr.write(`spate crawl: ${page.status ?? '---'} depth ${page.depth} ${page.url}${page.error ? ` (${page.error})` : ''}\n`);
    } : undefined,
    signal,
  });
  const running = crawler.run();
  const bounded = opts.maxPages !== undefined;
  const bar = cliProgress
    ? new cliProgress.SingleBar({
      // An unknown total shows counts and a rate, never a fraction.
      format: bounded
        ? 'crawl [{bar}] {pages}/{total} | {rate}/s | ETA {eta_formatted} | {failed} failed | {inFlight} in flight'
        : 'crawl {pages} pages | {rate}/s | {failed} failed | {inFlight} in flight | {queued} queued',
      hideCursor: true,
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  const show = (s: CrawlStats) => {
    if (opts.quiet) return;
    if (bar) bar.update(s.pages, { pages: s.pages, rate: s.rate.toFixed(1), failed: s.failed, inFlight: s.inFlight, queued: s.queued });
    else if (opts.json) process.stderr.write(`${JSON.stringify({ progress: s })}\n`);
    else process.stderr.write(`spate crawl: ${line(s)}\n`);
  };
  if (bar) {
    noteCursorHidden();
    bar.start(opts.maxPages ?? 0, 0, { pages: 0, rate: '0.0', failed: 0, inFlight: 0, queued: 0 });
  }
  // Progress is polled, not awaited: a crawl that fails at once must end the command at once.
  const timer = setInterval(() => show(crawler.stats()), tty ? 200 : opts.progressInterval);
  let summary;
  try {
    summary = await running;
    if (bar) show(summary); // the last frame agrees with the summary
  } finally {
    clearInterval(timer);
    bar?.stop();
    await store?.close();
  }
  if (dash && !(await dash.finish({ kind: 'crawl', summary, statePath }))) return EXIT.failed;
  if (opts.json) {
    process.stderr.write(`${JSON.stringify({ summary: { ...summary, state: statePath } })}\n`);
  } else if (!opts.quiet || summary.interrupted) {
    const how = summary.interrupted ? `interrupted; continue with --resume (state: ${statePath})` : `done in ${(summary.elapsedMs / 1000).toFixed(1)} s`;
    process.stderr.write(`spate crawl: ${summary.done} pages ok, ${summary.failed} failed, ${summary.blocked} blocked by robots.txt — ${how}\n`);
  }
  if (summary.interrupted) return EXIT.interrupted;
  return summary.failed > 0 ? EXIT.failed : EXIT.ok;
}

/** Adds `spate crawl` (and `spate crawl export`). */
export function register(program: Command): void {
  const crawl = program
    .command('crawl')
    .description('Crawl breadth-first from the given URLs; one JSON line per page (to stdout or --output). Resumable after Ctrl-C or a crash.')
    .argument('<url...>', 'start URLs (they define the scope)')
    .option('--max-depth <n>', 'deepest level followed (start URLs are 0)', integer(0))
    .option('--max-pages <n>', 'pages fetched in total', integer(0))
    .option('--max-pages-per-host <n>', 'URLs admitted per host (bounds traps such as endless calendars)', integer(1))
    .addOption(new Option('--scope <scope>', 'which links are followed').choices(['same-host', 'same-domain', 'prefix']).default('same-host'))
    .option('--include <regex>', 'follow only URLs matching this (repeatable)', regexList, [])
    .option('--exclude <regex>', 'do not follow URLs matching this (repeatable)', regexList, [])
    .option('-c, --concurrency <n>', 'pages in flight at once', integer(1), 32)
    .option('--per-host <n>', 'pages in flight per host', integer(1), 8)
    .option('--rate <n>', 'requests per second per host (fractions allowed)', positive('a number of requests per second'))
    .option('--no-robots', 'ignore robots.txt (Disallow and Crawl-delay)')
    .option('--follow-nofollow', 'follow rel=nofollow links and <meta name=robots content=nofollow> pages')
    .option('--user-agent <ua>', 'User-Agent header, also matched in robots.txt', DEFAULT_USER_AGENT)
    .option('--state <file|url>', 'the SQLite state of the crawl (default: .spate/crawl-<hash of the URLs>.sqlite), or a postgres:// URL shared by many workers')
    .option('--job <name>', 'with a postgres:// state: the crawl\'s name (its schema; default: from the URLs)')
    .option('--worker <name>', 'with a postgres:// state: this worker\'s name (default: host name + output path)')
    .addOption(durationOption('--lease <duration>', 'with a postgres:// state: how long a dead worker\'s pages stay claimed', 30_000))
    .option('--resume', 'continue the crawl recorded in the state file')
    .option('--fresh', 'delete the state file and start over')
    .option('-o, --output <file>', "where the JSON lines go ('-' for stdout)", '-')
    .option('--json', 'progress and summary as JSON lines on stderr')
    .option('-q, --quiet', 'no progress and no summary (errors only)')
    .option('-v, --verbose', 'a line on stderr for every page')
    .option('--sitemap', "also start from the sitemaps named in robots.txt (or /sitemap.xml)")
    .addOption(durationOption('--progress-interval <duration>', 'how often plain progress lines are printed when stderr is not a terminal', 2000))
    .addOption(dashboardOption()).addOption(reportHtmlOption())
    .addHelpText('after', `
Exit codes: 0 done, 1 some pages failed (no response or HTTP status ≥ 400), 2 usage, 130 interrupted,
141 stdout closed by its reader (as with | head).
Ctrl-C stops gracefully (in-flight pages are put back); run the same command with --resume to continue,
and the output ends up with every page exactly once.

Example:
  spate lab --port 8080 &
  spate crawl http://127.0.0.1:8080/site/default/ --max-depth 3 -o pages.jsonl

Shared on PostgreSQL (start more workers, here or elsewhere, with the same URLs and --resume):
  spate crawl http://127.0.0.1:8080/site/default/ --state postgres://127.0.0.1/test -o w1.jsonl
  spate crawl http://127.0.0.1:8080/site/default/ --state postgres://127.0.0.1/test -o w2.jsonl --resume
  spate crawl export http://127.0.0.1:8080/site/default/ --state postgres://127.0.0.1/test -o pages.jsonl
`)
    .action((seeds: string[], opts: CrawlCliOptions) =>
      runJob('crawl', ({ signal }) => runCrawlCommand(seeds, opts, signal), {
        interruptMessage: 'stopping (in-flight pages are put back)',
        quiet: opts.quiet === true,
      }));
  crawl
    .command('export')
    .description('Write every page recorded by a crawl (all its workers) to one JSONL file, complete or absent.')
    .argument('[url...]', 'the crawl\'s start URLs (name its state when --job is not given)')
    .option('--state <file|url>', 'the crawl\'s SQLite file or postgres:// URL (required)')
    .option('--job <name>', 'with a postgres:// state: the crawl\'s name')
    .option('-o, --output <file>', 'the file to write (required)')
    .action((seeds: string[], _opts: unknown, command: Command) => runJob('crawl export', async () => {
      // `crawl` has options of the same names and parses them first: read both levels.
      const opts = command.optsWithGlobals<{ state?: string; job?: string; output?: string }>();
      if (opts.state === undefined || opts.output === undefined || opts.output === '-') {
        return usageError('crawl export', '--state and -o <file> are required');
      }
      checkOutputFile(opts.output, '--output');
      return runExport(seeds, { state: opts.state, job: opts.job, output: opts.output });
    }));
}

function isPostgresUrl(state: string): boolean {
  return /^postgres(ql)?:\/\//.test(state);
}

/** The schema of a shared crawl: `--job`, or one per set of seeds. */
export function defaultJobSchema(seeds: readonly string[]): string {
  const key = [...seeds].map((s) => normalizeUrl(s) ?? s).sort().join('\n');
  return `spate_crawl_${sha256(key).slice(0, 12)}`;
}

async function openSharedStore(seeds: string[], opts: CrawlCliOptions): Promise<CrawlStore | number> {
  const { PostgresCrawlStore } = await import('../crawl/postgres-store.ts');
  const { PgSqlClient, schemaName } = await import('../store/index.ts');
  const schema = opts.job === undefined ? defaultJobSchema(seeds) : schemaName(opts.job);
  const where = opts.output === '-' ? `stdout-${process.pid}` : sha256(resolve(opts.output)).slice(0, 8);
  const worker = opts.worker ?? `${hostname()}-${where}`;
  const client = new PgSqlClient(opts.state!);
  let owned = true;
  try {
    const existing = await client.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', [schema, 'work']);
    if (existing.rows.length > 0) {
      if (opts.fresh) await client.query(`drop schema "${schema}" cascade`);
      else if (!opts.resume) {
        process.stderr.write(`spate crawl: ${opts.state} already holds the crawl ${schema}; pass --resume to join or continue it, or --fresh to start over\n`);
        return 2;
      }
    }
    const store = await PostgresCrawlStore.open({ client, schema, worker, leaseMs: opts.lease });
    owned = false;
    const close = store.close.bind(store);
    store.close = async () => {
      try {
        await close();
      } finally {
        await client.close();
      }
    };
    return store;
  } finally {
    if (owned) await client.close();
  }
}

async function runExport(seeds: string[], opts: { state: string; job?: string | undefined; output: string }): Promise<number> {
  const { exportCrawl } = await import('../crawl/postgres-store.ts');
  const store = await import('../store/index.ts');
  if (!isPostgresUrl(opts.state)) {
    if (!existsSync(opts.state)) {
      process.stderr.write(`spate crawl export: no state file ${opts.state} (see spate crawl export --help)\n`);
      return 2;
    }
    const queue = store.SqliteWorkQueue.open(opts.state);
    try {
      const n = await exportCrawl(queue, opts.output);
      process.stderr.write(`spate crawl export: ${n} pages to ${opts.output}\n`);
    } finally {
      queue.closeSync();
    }
    return 0;
  }
  if (opts.job === undefined && seeds.length === 0) {
    process.stderr.write('spate crawl export: give the crawl\'s URLs or --job (see spate crawl export --help)\n');
    return 2;
  }
  const schema = opts.job === undefined ? defaultJobSchema(seeds) : store.schemaName(opts.job);
  const client = new store.PgSqlClient(opts.state);
  try {
    const existing = await client.query('select 1 from information_schema.tables where table_schema = $1 and table_name = $2', [schema, 'work']);
    if (existing.rows.length === 0) {
      process.stderr.write(`spate crawl export: ${opts.state} holds no crawl ${schema} (see spate crawl export --help)\n`);
      return 2;
    }
    const queue = await store.PostgresWorkQueue.open(client, { schema, owner: `export-${process.pid}` });
    const n = await exportCrawl(queue, opts.output);
    await queue.close();
    process.stderr.write(`spate crawl export: ${n} pages to ${opts.output}\n`);
    return 0;
  } finally {
    await client.close();
  }
}

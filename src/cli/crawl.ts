// `spate crawl <url…>`: a resumable breadth-first crawl, JSON lines out, progress on stderr.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { CrawlScope, CrawlStats } from '../crawl/crawler.ts';
import { normalizeUrl } from '../crawl/normalize.ts';
import { DEFAULT_USER_AGENT } from '../crawl/robots.ts';
import { integer, positive } from './parse.ts';

export interface CrawlCliOptions {
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
  resume?: boolean;
  fresh?: boolean;
  output: string;
  json?: boolean;
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

/** The default state file of a crawl: one per set of seeds. */
export function defaultStatePath(seeds: readonly string[]): string {
  const key = [...seeds].map((s) => normalizeUrl(s) ?? s).sort().join('\n');
  // node:crypto on first use, not at start-up (`spate crawl --help` does not need it).
  const { createHash } = process.getBuiltinModule('node:crypto');
  return join('.spate', `crawl-${createHash('sha256').update(key).digest('hex').slice(0, 12)}.sqlite`);
}

/** Requests per second as a sliding-window limit (fractions become one per 1/rate seconds). */
function rateLimit(rate: number): { limit: number; interval: number } {
  return rate >= 1 ? { limit: Math.round(rate), interval: 1000 } : { limit: 1, interval: Math.round(1000 / rate) };
}

function line(s: CrawlStats): string {
  const limit = s.limit === undefined ? '' : `/${s.limit}`;
  return `${s.pages}${limit} pages, ${s.rate.toFixed(1)}/s, ${s.failed} failed, ${s.blocked} blocked, ${s.inFlight} in flight, ${s.queued} queued`;
}

/** Runs the crawl the CLI describes; returns the exit code. */
export async function runCrawlCommand(seeds: string[], opts: CrawlCliOptions, signal: AbortSignal): Promise<number> {
  for (const seed of seeds) {
    if (normalizeUrl(seed) === undefined) {
      process.stderr.write(`spate crawl: not an http(s) URL: ${seed}\n`);
      return 2;
    }
  }
  if (opts.resume && opts.fresh) {
    process.stderr.write('spate crawl: --resume and --fresh exclude each other\n');
    return 2;
  }
  const statePath = opts.state ?? defaultStatePath(seeds);
  if (existsSync(statePath)) {
    if (opts.fresh) {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${statePath}${suffix}`, { force: true });
    } else if (!opts.resume) {
      process.stderr.write(`spate crawl: ${statePath} holds the state of an earlier run of this crawl; pass --resume to continue it, or --fresh to start over\n`);
      return 2;
    }
  }
  // Loaded here, not at the top: `spate crawl --help` stays as cheap as Node's own start-up.
  const [{ Crawler }, { default: cliProgress }] = await Promise.all([import('../crawl/crawler.ts'), import('cli-progress')]);
  const crawler = new Crawler({
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
    statePath,
    output: opts.output,
    sitemap: opts.sitemap,
    signal,
  });
  const running = crawler.run();
  const tty = process.stderr.isTTY && !opts.json;
  const bar = tty
    ? new cliProgress.SingleBar({
      format: opts.maxPages === undefined
        ? 'crawl {pages} pages | {rate}/s | {failed} failed | {inFlight} in flight | {queued} queued'
        : 'crawl [{bar}] {pages}/{total} | {rate}/s | ETA {eta_formatted} | {failed} failed | {inFlight} in flight',
      hideCursor: true,
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(opts.maxPages ?? 0, 0, { pages: 0, rate: '0.0', failed: 0, inFlight: 0, queued: 0 });
  for await (const s of crawler.progress(tty ? 200 : opts.progressInterval)) {
    if (bar) bar.update(s.pages, { pages: s.pages, rate: s.rate.toFixed(1), failed: s.failed, inFlight: s.inFlight, queued: s.queued });
    else if (opts.json) process.stderr.write(`${JSON.stringify({ progress: s })}\n`);
    else process.stderr.write(`spate crawl: ${line(s)}\n`);
  }
  bar?.stop();
  const summary = await running;
  if (opts.json) {
    process.stderr.write(`${JSON.stringify({ summary: { ...summary, state: statePath } })}\n`);
  } else {
    const how = summary.interrupted ? `interrupted; continue with --resume (state: ${statePath})` : `done in ${(summary.elapsedMs / 1000).toFixed(1)} s`;
    process.stderr.write(`spate crawl: ${summary.done} pages ok, ${summary.failed} failed, ${summary.blocked} blocked by robots.txt — ${how}\n`);
  }
  if (summary.interrupted) return 130;
  return summary.failed > 0 ? 1 : 0;
}

/** Adds `spate crawl`. */
export function register(program: Command): void {
  program
    .command('crawl')
    .description('Crawl breadth-first from the given URLs; one JSON line per page (to stdout or --output). Resumable after Ctrl-C or a crash.')
    .argument('<url...>', 'start URLs (they define the scope)')
    .option('--max-depth <n>', 'deepest level followed (start URLs are 0)', integer(0))
    .option('--max-pages <n>', 'pages fetched in total', integer(0))
    .option('--max-pages-per-host <n>', 'URLs admitted per host (bounds traps such as endless calendars)', integer(1))
    .addOption(new Option('--scope <scope>', 'which links are followed').choices(['same-host', 'same-domain', 'prefix']).default('same-host'))
    .option('--include <regex>', 'follow only URLs matching this (repeatable)', regexList, [])
    .option('--exclude <regex>', 'do not follow URLs matching this (repeatable)', regexList, [])
    .option('--concurrency <n>', 'pages in flight at once', integer(1), 32)
    .option('--per-host <n>', 'pages in flight per host', integer(1), 8)
    .option('--rate <n>', 'requests per second per host (fractions allowed)', positive())
    .option('--no-robots', 'ignore robots.txt (Disallow and Crawl-delay)')
    .option('--follow-nofollow', 'follow rel=nofollow links and <meta name=robots content=nofollow> pages')
    .option('--user-agent <ua>', 'User-Agent header, also matched in robots.txt', DEFAULT_USER_AGENT)
    .option('--state <file>', 'the SQLite state of the crawl (default: .spate/crawl-<hash of the URLs>.sqlite)')
    .option('--resume', 'continue the crawl recorded in the state file')
    .option('--fresh', 'delete the state file and start over')
    .option('-o, --output <file>', "where the JSON lines go ('-' for stdout)", '-')
    .option('--json', 'progress and summary as JSON lines on stderr')
    .option('--sitemap', "also start from the sitemaps named in robots.txt (or /sitemap.xml)")
    .option('--progress-interval <ms>', 'how often plain progress lines are printed when stderr is not a terminal', integer(1), 2000)
    .addHelpText('after', `
Exit codes: 0 done, 1 some pages failed (no response or HTTP status ≥ 400), 2 usage, 130 interrupted.
Ctrl-C stops gracefully (in-flight pages are put back); run the same command with --resume to continue,
and the output ends up with every page exactly once.

Example:
  spate lab --port 8080 &
  spate crawl http://127.0.0.1:8080/site/default/ --max-depth 3 -o pages.jsonl
`)
    .action(async (seeds: string[], opts: CrawlCliOptions) => {
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts > 1) process.exit(130);
        process.stderr.write('\nspate crawl: stopping (in-flight pages are put back); Ctrl-C again to quit at once\n');
        controller.abort(new Error('interrupted'));
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        process.exitCode = await runCrawlCommand(seeds, opts, controller.signal);
      } catch (error) {
        process.stderr.write(`spate crawl: ${(error as Error).message}\n`);
        process.exitCode = (error as { code?: string }).code === 'SPATE_INVALID_ARGUMENT' ? 2 : 1;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}

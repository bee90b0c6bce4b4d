// `spate bench fanout`: the seeds' sequential-vs-concurrent table against the lab.
import { type Command, InvalidArgumentError } from 'commander';
import { fanout, formatFanout } from '../http/fanout.ts';
import { spawnLab } from './lab-process.ts';

function sizes(value: string): number[] {
  const list = value.split(',').filter(Boolean).map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('must be a comma-separated list of positive integers.');
  return list;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 60) throw new InvalidArgumentError('must be a number of seconds in [0, 60].');
  return n;
}

export interface FanoutCliOptions {
  delay: number;
  sizes: number[];
  large: number[];
  url?: string;
  json?: boolean;
}

/** Runs the fan-out table against `url`, or against a lab it starts; prints it. */
export async function runFanoutCommand(opts: FanoutCliOptions, signal?: AbortSignal): Promise<void> {
  const lab = opts.url ? undefined : await spawnLab();
  try {
    const url = opts.url ?? lab!.url;
    if (!opts.json) process.stdout.write(`Fan-out against ${url}/delay/${opts.delay}\n`);
    const rows = await fanout({
      url,
      delay: opts.delay,
      sizes: opts.sizes,
      concurrentOnly: opts.large,
      signal,
      onRow: (row) => {
        if (opts.json) process.stdout.write(`${JSON.stringify(row)}\n`);
      },
    });
    if (!opts.json) process.stdout.write(`${formatFanout(rows, opts.delay)}\n`);
    if (rows.some((r) => r.failed > 0)) process.exitCode = 1;
  } finally {
    await lab?.close();
  }
}

export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('Measurements you can run yourself (the side-by-side suite is `npm run bench`)');
  bench
    .command('fanout')
    .description('N URLs that each take --delay seconds: sequential vs concurrent, same client (the seeds\' table)')
    .option('--delay <seconds>', 'server-side delay of each URL', seconds, 1)
    .option('--sizes <list>', 'sizes run both ways', sizes, [5, 10, 20, 50, 100])
    .option('--large <list>', 'sizes run concurrently only', sizes, [1000, 10_000])
    .option('--url <url>', 'a running lab to use instead of starting one')
    .option('--json', 'one JSON line per row')
    .action(async (opts: FanoutCliOptions) => {
      const ac = new AbortController();
      const stop = () => ac.abort(new Error('interrupted'));
      process.once('SIGINT', stop);
      try {
        await runFanoutCommand(opts, ac.signal);
      } catch (error) {
        if (ac.signal.aborted) {
          process.exitCode = 130;
          return;
        }
        throw error;
      } finally {
        process.off('SIGINT', stop);
      }
    });
}

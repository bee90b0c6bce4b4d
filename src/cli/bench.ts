// `spate bench fanout`: the seeds' sequential-vs-concurrent table against the lab.
import { type Command, InvalidArgumentError } from 'commander';
import { fanout, formatFanout } from '../http/fanout.ts';
import { EXIT, runJob } from './job.ts';
import { spawnLab } from './lab-process.ts';
import { durationOption } from './parse.ts';

function sizes(value: string): number[] {
  const list = value.split(',').filter(Boolean).map(Number);
  if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('must be a comma-separated list of positive integers.');
  return list;
}

export interface FanoutCliOptions {
  /** Seconds each URL takes on the server. */
  delay: number;
  sizes: number[];
  large: number[];
  url?: string;
  json?: boolean;
}

/** Runs the fan-out table against `url`, or against a lab it starts; prints each row as it completes. */
export async function runFanoutCommand(opts: FanoutCliOptions, signal?: AbortSignal): Promise<number> {
  const lab = opts.url ? undefined : await spawnLab();
  try {
    const url = opts.url ?? lab!.url;
    if (!opts.json) process.stdout.write(`Fan-out against ${url}/delay/${opts.delay}\n${formatFanout([], opts.delay)}\n`);
    const rows = await fanout({
      url,
      delay: opts.delay,
      sizes: opts.sizes,
      concurrentOnly: opts.large,
      signal,
      onRow: (row) => {
        process.stdout.write(opts.json ? `${JSON.stringify(row)}\n` : `${formatFanout([row], opts.delay).split('\n').at(-1)}\n`);
      },
    });
    return rows.some((r) => r.failed > 0) ? EXIT.failed : EXIT.ok;
  } finally {
    await lab?.close();
  }
}

export function register(program: Command): void {
  const bench = program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('Measurements you can run yourself (the side-by-side suite is `npm run bench`)');
  bench.command('fanout')
    .description('N URLs that each take --delay on the server: sequential vs concurrent, same client (the seeds\' table); each row prints as it completes')
    .addOption(durationOption('--delay <duration>', 'server-side delay of each URL', 1000, 60_000))
    .option('--sizes <list>', 'sizes run both ways', sizes, [5, 10, 20, 50, 100])
    .option('--large <list>', 'sizes run concurrently only', sizes, [1000, 10_000])
    .option('--quick', 'a short run: --delay 250ms, sizes 5,10,20, large 100,1000 (options given explicitly still win)')
    .option('--url <url>', 'a running lab to use instead of starting one')
    .option('--json', 'one JSON line per row')
    .action((opts: Omit<FanoutCliOptions, 'delay'> & { delay: number; quick?: boolean }, command: Command) => {
      const given = (name: string) => command.getOptionValueSource(name) === 'cli';
      const quick = opts.quick === true;
      const run: FanoutCliOptions = {
        ...opts,
        delay: (quick && !given('delay') ? 250 : opts.delay) / 1000,
        sizes: quick && !given('sizes') ? [5, 10, 20] : opts.sizes,
        large: quick && !given('large') ? [100, 1000] : opts.large,
      };
      return runJob('bench fanout', ({ signal }) => runFanoutCommand(run, signal));
    });
}

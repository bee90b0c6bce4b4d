// `spate tour` (what `npm start` runs): a short walk through spate on the embedded defaults,
// against a lab server it starts itself: the seeds' timer comparison, the fan-out table, a crawl
// of the lab's synthetic site and a batch download, each with its progress and summary.
import type { Command } from 'commander';
import { compareSequentialConcurrent, formatTable } from './demo.ts';
import { runFanoutCommand } from './bench.ts';

export interface TourStep {
  title: string;
  run(context: { labUrl: string; signal: AbortSignal }): Promise<void>;
}

/** Steps added by the job commands (crawl, download) when they are registered. */
export const tourSteps: TourStep[] = [];

export function register(program: Command): void {
  program
    .command('tour')
    .description('A short tour: sequential vs concurrent, the fan-out table, a crawl and a download, all against a local lab')
    .option('--quick', 'smaller sizes, for a slow machine')
    .action(async (opts: { quick?: boolean }) => {
      const ac = new AbortController();
      const stop = () => ac.abort(new Error('interrupted'));
      process.once('SIGINT', stop);
      try {
        heading('1. Sequential vs concurrent waits (timers standing in for I/O)');
        const rows = [];
        for (const n of [3, 10, 100, 10_000]) rows.push(await compareSequentialConcurrent(n, 100, n <= 10));
        process.stdout.write(`${formatTable(rows, 100)}\n`);

        heading('2. The fan-out table: N URLs that each take 0.25 s, against the lab');
        await runFanoutCommand({ delay: 0.25, sizes: [5, 10, 20], large: opts.quick ? [100, 1000] : [100, 1000, 10_000] }, ac.signal);

        const { spawnLab } = await import('./lab-process.ts');
        await using lab = await spawnLab(['--pages', opts.quick ? '200' : '2000']);
        let n = 3;
        for (const step of tourSteps) {
          heading(`${n++}. ${step.title}`);
          await step.run({ labUrl: lab.url, signal: ac.signal });
        }
        process.stdout.write('\nThat was spate. `spate --help` lists the commands; the README has the library.\n');
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

function heading(text: string): void {
  process.stdout.write(`\n${text}\n${'-'.repeat(text.length)}\n`);
}

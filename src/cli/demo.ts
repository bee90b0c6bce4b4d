// `spate demo`: the seeds' sync-vs-async comparison on timers, as a table.
import type { Command } from 'commander';
import { sleep } from '../core/sleep.ts';
import { gather } from '../core/gather.ts';
import { durationOption, integer } from './parse.ts';

export interface DemoRow {
  tasks: number;
  sequentialMs: number | undefined;
  concurrentMs: number;
}

/** Runs `tasks` timers of `delayMs` one after another (if `sequential`) and all at once. */
export async function compareSequentialConcurrent(tasks: number, delayMs: number, sequential: boolean): Promise<DemoRow> {
  let sequentialMs: number | undefined;
  if (sequential) {
    const start = performance.now();
    for (let i = 0; i < tasks; i++) await sleep(delayMs);
    sequentialMs = performance.now() - start;
  }
  const start = performance.now();
  await gather(Array.from({ length: tasks }, () => ({ signal }: { signal: AbortSignal }) => sleep(delayMs, { signal })));
  return { tasks, sequentialMs, concurrentMs: performance.now() - start };
}

export function formatTable(rows: DemoRow[], delayMs: number): string {
  const lines = [
    `Each task waits ${delayMs} ms (a timer standing in for I/O).`,
    '',
    '  tasks   sequential   concurrent   speed-up',
    '  -----   ----------   ----------   --------',
  ];
  for (const row of rows) {
    const seq = row.sequentialMs === undefined ? 'not run' : `${(row.sequentialMs / 1000).toFixed(2)} s`;
    const speedUp = row.sequentialMs === undefined ? '' : `${(row.sequentialMs / row.concurrentMs).toFixed(1)}×`;
    lines.push(`  ${String(row.tasks).padStart(5)}   ${seq.padStart(10)}   ${`${(row.concurrentMs / 1000).toFixed(2)} s`.padStart(10)}   ${speedUp.padStart(8)}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program.command('demo')
    .description('Compare sequential and concurrent waits on timers (the seeds\' first example)')
    .addOption(durationOption('--delay <duration>', 'how long each task waits', 100, 60_000))
    .option('--sequential-max <n>', 'run the sequential column only up to this many tasks', integer(0), 20)
    .action(async (opts: { delay: number; sequentialMax: number }) => {
      const delayMs = opts.delay;
      const sequentialMax = opts.sequentialMax;
      const rows: DemoRow[] = [];
      for (const tasks of [3, 5, 10, 20, 100, 1000, 10000]) {
        rows.push(await compareSequentialConcurrent(tasks, delayMs, tasks <= sequentialMax));
      }
      console.log(formatTable(rows, delayMs));
    });
}

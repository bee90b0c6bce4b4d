// The download group: 1,000 × 1 MiB and 10 × 100 MiB from a lab in a process of its own, 16 files
// in flight, for spate, aria2c and curl --parallel (MB/s and peak RSS).
import type { Case, Variant } from '../run.ts';
import { spawnLab } from '../../src/cli/lab-process.ts';

const setup = async () => {
  const lab = await spawnLab();
  return { env: { LAB_URL: lab.url }, close: () => lab.close() };
};

export function cases(quick: boolean): Case[] {
  const rows: Array<{ bench: string; n: number; size: number }> = quick
    ? [{ bench: 'download/1000x1MiB', n: 100, size: 1 << 20 }, { bench: 'download/10x100MiB', n: 2, size: 20 << 20 }]
    : [{ bench: 'download/1000x1MiB', n: 1000, size: 1 << 20 }, { bench: 'download/10x100MiB', n: 10, size: 100 << 20 }];
  return rows.map(({ bench, n, size }) => ({
    bench,
    unit: 'MB/s',
    higherIsBetter: true,
    setup,
    variants: ['spate', 'aria2', 'curl'].map((impl): Variant => ({ impl, command: ['node', 'download/batch.ts', impl, `--n=${n}`, `--size=${size}`] })),
  }));
}

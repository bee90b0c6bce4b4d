// The core group: the semaphore path, streaming map and the bounded queue, against their peers.
import { spawnSync } from 'node:child_process';
import type { Case, Variant } from '../run.ts';

function python(): string | undefined {
  for (const exe of ['python3', '/usr/bin/python3']) {
    if (spawnSync(exe, ['-c', 'import asyncio'], { stdio: 'ignore' }).status === 0) return exe;
  }
  return undefined;
}

export function cases(quick: boolean): Case[] {
  const n = quick ? 100_000 : 1_000_000;
  const py = python();
  const node = (script: string, impl: string): Variant => ({ impl, command: ['node', `core/${script}`, impl, `--n=${n}`] });
  const asyncio = (which: string): Variant => ({
    impl: 'asyncio',
    command: [py ?? 'python3', 'python/core_bench.py', which, `--n=${n}`],
    skip: () => (py ? undefined : 'python3 not found'),
  });
  return [
    {
      bench: 'core/semaphore',
      unit: 'ops/s',
      higherIsBetter: true,
      variants: [
        ...['spate', 'p-limit', 'p-queue', 'async-mutex', 'minimal', 'promise-all'].map((impl) => node('semaphore.ts', impl)),
        asyncio('semaphore'),
      ],
    },
    {
      bench: 'core/map',
      unit: 'ops/s',
      higherIsBetter: true,
      variants: [...['spate', 'p-limit', 'p-queue', 'minimal'].map((impl) => node('map.ts', impl)), asyncio('map')],
    },
    {
      bench: 'core/queue',
      unit: 'ops/s',
      higherIsBetter: true,
      variants: [node('queue.ts', 'spate'), asyncio('queue')],
    },
  ];
}

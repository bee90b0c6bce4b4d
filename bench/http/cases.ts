// The http group: throughput at 50 concurrent requests, and the 10,000-URL fan-out, against a lab
// in a process of its own.
import { spawnSync } from 'node:child_process';
import type { Case, Variant } from '../run.ts';
import { spawnLab } from '../../src/cli/lab-process.ts';

function aiohttpPython(): string | undefined {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(exe, ['-c', 'import aiohttp'], { stdio: 'ignore' }).status === 0) return exe;
  }
  return undefined;
}

const setup = async () => {
  const lab = await spawnLab();
  return { env: { LAB_URL: lab.url }, close: () => lab.close() };
};

export function cases(quick: boolean): Case[] {
  const seconds = quick ? 2 : 5;
  const n = quick ? 2000 : 10_000;
  const py = aiohttpPython();
  const aiohttp = (which: string, args: string[]): Variant => ({
    impl: 'aiohttp',
    command: [py ?? 'python3', 'python/http_bench.py', which, ...args],
    skip: () => (py ? undefined : 'aiohttp not installed (apt-get install python3-aiohttp)'),
  });
  return [
    {
      bench: 'http/throughput',
      unit: 'req/s',
      higherIsBetter: true,
      setup,
      variants: [
        ...['spate', 'undici', 'fetch', 'got', 'axios'].map((impl): Variant => ({ impl, command: ['node', 'http/throughput.ts', impl, `--seconds=${seconds}`] })),
        aiohttp('throughput', [`--seconds=${seconds}`]),
      ],
    },
    {
      bench: `http/fanout-${n}`,
      unit: 's',
      higherIsBetter: false,
      setup,
      variants: [
        { impl: 'spate', command: ['node', 'http/fanout.ts', 'spate', `--n=${n}`] },
        aiohttp('fanout', [`--n=${n}`]),
      ],
    },
  ];
}

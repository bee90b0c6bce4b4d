// The pipeline group: local-1e6 (three stages in one process vs Node streams, Readable.map, p-map,
// the seed's asyncio DataPipeline), lines-1gb (a text file to JSONL vs readline and aiofiles), and
// autoscale (dynamic workers against the lab's /delay).
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Case, Variant } from '../run.ts';

function python(module?: string): string | undefined {
  for (const exe of ['python3', '/usr/bin/python3']) {
    if (spawnSync(exe, ['-c', `import asyncio${module ? `, ${module}` : ''}`], { stdio: 'ignore' }).status === 0) return exe;
  }
  return undefined;
}

/** Writes `mb` MB of text lines of varied length (cached per size under the OS temp dir). */
async function textFile(dir: string, mb: number): Promise<string> {
  const path = join(dir, `lines-${mb}mb.txt`);
  const out = createWriteStream(path);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa', 'lambda', 'mu'];
  let i = 0;
  while (out.bytesWritten + out.writableLength < mb * 1e6) {
    let chunk = '';
    for (let k = 0; k < 1000; k++, i++) chunk += `${i} ${words[i % 12]} ${words[(i * 7) % 12]} "quoted" ${'x'.repeat(i % 40)}\n`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}

export function cases(quick: boolean): Case[] {
  const n = 1_000_000; // the case's name says 1e6; --quick shrinks only the file and the autoscale run
  const mb = quick ? 100 : 1000;
  const py = python();
  const pyAiofiles = python('aiofiles');
  const dir = mkdtempSync(join(tmpdir(), 'spate-bench-pipeline-'));
  let file: string | undefined;
  const local = (impl: string): Variant => ({ impl, command: ['node', 'pipeline/local.ts', impl, `--n=${n}`] });
  const lines = (impl: string): Variant => ({ impl, command: ['node', 'pipeline/lines.ts', impl, join(dir, `lines-${mb}mb.txt`), join(dir, `out-${impl}.jsonl`)] });
  return [
    {
      bench: 'pipeline/local-1e6',
      unit: 'items/s',
      higherIsBetter: true,
      variants: [
        ...['spate', 'node-streams', 'readable-map', 'p-map', 'loop'].map(local),
        { impl: 'asyncio', command: [py ?? 'python3', 'python/pipeline_bench.py', 'local', `--n=${n}`], skip: () => (py ? undefined : 'python3 not found') },
      ],
    },
    {
      bench: 'pipeline/lines-1gb',
      unit: 'MB/s',
      higherIsBetter: true,
      setup: async () => {
        file ??= await textFile(dir, mb);
        return {
          env: { SPATE_BENCH_LINES_MB: String(Math.round(statSync(file).size / 1e6)) },
          close: async () => rmSync(dir, { recursive: true, force: true }),
        };
      },
      variants: [
        lines('spate'),
        lines('readline'),
        {
          impl: 'aiofiles',
          command: [pyAiofiles ?? 'python3', 'python/pipeline_bench.py', 'lines', join(dir, `lines-${mb}mb.txt`), join(dir, 'out-aiofiles.jsonl'), '--limit-mb=2'],
          skip: () => (pyAiofiles ? undefined : 'python3-aiofiles is not installed (apt-get install python3-aiofiles)'),
        },
      ],
    },
    {
      bench: 'pipeline/autoscale',
      unit: 's',
      higherIsBetter: false,
      setup: async () => {
        const { startLab } = await import('../../src/lab/index.ts');
        const lab = await startLab({ port: 0 });
        return { env: { LAB_URL: lab.url }, close: () => lab.close() };
      },
      variants: [{ impl: 'spate', command: ['node', 'pipeline/autoscale.ts', 'spate', `--n=${quick ? 2000 : 6000}`] }],
    },
  ];
}

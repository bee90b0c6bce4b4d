// Kill -9 torture: a crawl and a download are SIGKILLed at N seeded moments, chosen by their
// progress output (after the k-th line, never by sleeping), and resumed each time; the final
// output must equal an uninterrupted run's — every page exactly once, every file's sha256 equal.
// TORTURE_KILLS=<n> (default 3; `npm run torture`: 25), TORTURE_SEED=<n>.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Crawler } from '../../src/crawl/crawler.ts';
import { fileBytes, startLab } from '../../src/lab/index.ts';
import { hash32, uniform } from '../../src/lab/rng.ts';

/** The n-th number in [0, 1) of the sequence `seed`. */
const uniform32 = (seed: number, n: number) => uniform(hash32('torture', seed), n);

const child = fileURLToPath(new URL('./child.ts', import.meta.url));
const KILLS = Number(process.env.TORTURE_KILLS ?? 3);
const SEED = Number(process.env.TORTURE_SEED ?? 1);
let lab: Awaited<ReturnType<typeof startLab>>;
let dir: string;

before(async () => {
  lab = await startLab({ seed: 3 });
  dir = mkdtempSync(join(tmpdir(), 'spate-torture-'));
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the child; kills it with SIGKILL after its `killAfter`-th line of output (if it gets there). */
function run(args: string[], killAfter: number): Promise<{ code: number | null; signal: string | null; lines: number; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      for (const ch of chunk) if (ch === '\n') lines++;
      if (lines >= killAfter && proc.exitCode === null) proc.kill('SIGKILL');
    });
    proc.stderr.on('data', (c: Buffer) => (stderr += c));
    proc.on('close', (code, signal) => resolve({ code, signal, lines, stderr }));
  });
}

/** Kills at KILLS seeded moments, then lets the job finish; returns how many kills landed. */
async function torture(args: string[], expectedLines: number, salt: number): Promise<number> {
  let landed = 0;
  for (let i = 0; i < KILLS; i++) {
    // Spread over the job: each kill lands within about 1.5 shares of what is left.
    const k = 1 + Math.floor(uniform32(SEED * 7919 + salt, i) * Math.max(1, (1.5 * expectedLines) / (KILLS + 1)));
    const r = await run(args, k);
    if (r.signal === 'SIGKILL') landed++;
    else assert.equal(r.code, 0, r.stderr);
  }
  const last = await run(args, Infinity);
  assert.equal(last.code, 0, last.stderr);
  return landed;
}

function urlsIn(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.endsWith('}')).map((l) => (JSON.parse(l) as { url: string }).url);
}

test(`torture - crawl: SIGKILL at ${KILLS} seeded moments, resumed each time: every page exactly once, as uninterrupted`, async (t) => {
  const site = `${lab.url}/site/pages=120,extras=0,latency=2/`;
  const reference = join(dir, 'reference.jsonl');
  await new Crawler({ seeds: [site], statePath: ':memory:', output: reference, concurrency: 4 }).run();
  const expected = urlsIn(reference).sort();
  assert.equal(expected.length, 120);

  const output = join(dir, 'crawl.jsonl');
  const landed = await torture(['crawl', site, join(dir, 'crawl.sqlite'), output], expected.length, 1);
  t.diagnostic(`${landed} of ${KILLS} kills landed mid-crawl`);
  const urls = urlsIn(output);
  assert.equal(new Set(urls).size, urls.length, 'no page twice');
  assert.deepEqual([...urls].sort(), expected);
});

test(`torture - download: SIGKILL at ${KILLS} seeded moments, resumed each time: every file's sha256 as uninterrupted`, async (t) => {
  const out = join(dir, 'files');
  const sizes = Array.from({ length: 10 }, (_, i) => 100_000 + Math.floor(uniform32(SEED, 100 + i) * 400_000));
  const list = join(dir, 'urls.txt');
  writeFileSync(list, sizes.map((size, i) => `${lab.url}/files/t/f${i}.bin?size=${size}&rate=8000000\n`).join(''));
  const totalLines = sizes.reduce((a, s) => a + Math.floor(s / 65_536), 0) + sizes.length;
  const landed = await torture(['download', out, list], totalLines, 2);
  t.diagnostic(`${landed} of ${KILLS} kills landed mid-download`);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  for (const [i, size] of sizes.entries()) {
    assert.equal(sha(readFileSync(join(out, `f${i}.bin`))), sha(fileBytes(3, `t/f${i}.bin`, 0, size)), `f${i}.bin`);
  }
  assert.deepEqual(readdirSync(out).filter((f) => !f.startsWith('.')).sort(), sizes.map((_, i) => `f${i}.bin`).sort());
});

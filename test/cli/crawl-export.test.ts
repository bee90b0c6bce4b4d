import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab, type Lab } from '../../src/lab/index.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let lab: Lab;
let dir: string;

before(async () => {
  lab = await startLab({ seed: 1 });
  dir = mkdtempSync(join(tmpdir(), 'spate-crawl-export-'));
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, 'crawl', ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

test('spate crawl export - writes a SQLite crawl\'s pages once each, in commit order', async () => {
  const site = `${lab.url}/site/pages=80,extras=0/`;
  const state = join(dir, 'c.sqlite');
  const crawled = await run([site, '--state', state, '-o', join(dir, 'c.jsonl')]);
  assert.equal(crawled.code, 0, crawled.stderr);
  const out = join(dir, 'export.jsonl');
  const exported = await run(['export', '--state', state, '-o', out]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(readFileSync(out, 'utf8'), readFileSync(join(dir, 'c.jsonl'), 'utf8'));
  assert.equal(readFileSync(out, 'utf8').split('\n').filter(Boolean).length, 80);
});

test('spate crawl export - usage errors exit 2 and write nothing', async () => {
  const out = join(dir, 'none.jsonl');
  const noState = await run(['export', '-o', out]);
  assert.equal(noState.code, 2);
  assert.match(noState.stderr, /--state/);
  const missing = await run(['export', '--state', join(dir, 'missing.sqlite'), '-o', out]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no state file/);
  const noJob = await run(['export', '--state', 'postgres://127.0.0.1/test', '-o', out]);
  assert.equal(noJob.code, 2);
  assert.match(noJob.stderr, /--job/);
  assert.equal(existsSync(out), false);
});

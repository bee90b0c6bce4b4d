// `spate download` as a user runs it: a child process against a lab in this process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileBytes, startLab } from '../../src/lab/index.ts';
import { PARTIAL_DIR } from '../../src/download/downloader.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
type Lab = Awaited<ReturnType<typeof startLab>>;
let lab: Lab;
let dir: string;

before(async () => {
  lab = await startLab({ seed: 5 });
  dir = mkdtempSync(join(tmpdir(), 'spate-dl-cli-'));
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function cli(args: string[], options: { onSpawn?: (child: ReturnType<typeof spawn>) => void; stdin?: string } = {}): Promise<Run> {
  const child = spawn(process.execPath, [main, 'download', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  child.stdin.end(options.stdin ?? '');
  options.onSpawn?.(child);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('spate download - SIGKILL mid-download, then --resume gives byte-identical files', async () => {
  const out = join(dir, 'killed');
  const size = 1_500_000;
  const names = ['k0.bin', 'k1.bin', 'k2.bin'];
  // Each file stalls for 30 s after 500 kB on its first request only (fault_first=1).
  const list = join(dir, 'killed.txt');
  writeFileSync(list, names.map((n) => `${lab.url}/files/${n}?size=${size}&stall=30000&stall_at=500000&fault_first=1&key=kill-${n}`).join('\n'));
  const partDir = join(out, PARTIAL_DIR);
  const parts = () => (existsSync(partDir) ? readdirSync(partDir).map((f) => statSync(join(partDir, f)).size) : []);
  const first = await cli([list, '-d', out, '--concurrency', '3'], {
    onSpawn: (child) => {
      void until(() => parts().length === 3 && parts().every((s) => s === 500_000), 'three parts of 500 kB').then(() => child.kill('SIGKILL'));
    },
  });
  assert.equal(first.signal, 'SIGKILL');
  assert.deepEqual(readdirSync(out).filter((f) => !f.startsWith('.')), [], 'no file is visible after the kill');

  const second = await cli([list, '-d', out, '--resume', '--json']);
  assert.equal(second.code, 0, second.stderr);
  const summary = JSON.parse(second.stdout.trim().split('\n').at(-1)!).summary;
  assert.equal(summary.success, 3);
  assert.equal(summary.bytesTransferred, 3 * (size - 500_000), 'each file continued from its part');
  for (const n of names) {
    assert.equal(sha(readFileSync(join(out, n))), sha(fileBytes(5, n, 0, size)), n);
  }
});

test('spate download - exit 1 when some fail, bad lines reported, report written, stdin list', async () => {
  const out = join(dir, 'mixed');
  const report = join(dir, 'report.json');
  const stdin = [`${lab.url}/files/ok.bin?size=1000`, 'nonsense line', `${lab.url}/status/404`].join('\n');
  const run = await cli(['-', '-d', out, '--report', report], { stdin });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /line 2: not a URL/);
  assert.match(run.stderr, /1 downloaded, 0 skipped, 1 failed of 2 \(1 bad list lines\)/);
  assert.equal(run.stdout, '', 'human output goes to stderr');
  const parsed = JSON.parse(readFileSync(report, 'utf8'));
  assert.equal(parsed.totals.success, 1);
  assert.equal(parsed.files.length, 2);
  assert.equal(parsed.files[1].status, 'failed');
  assert.equal(parsed.files[0].sha256, sha(fileBytes(5, 'ok.bin', 0, 1000)));
});

test('spate download - usage errors exit 2', async () => {
  assert.equal((await cli([join(dir, 'x.txt')])).code, 2, 'no --out');
  assert.equal((await cli([join(dir, 'x.txt'), '-d', dir, '--concurrency', '0'])).code, 2);
  assert.equal((await cli([join(dir, 'missing.txt'), '-d', join(dir, 'm')])).code, 2, 'missing list file');
});

test('spate download - SIGINT stops gracefully with exit 130 and keeps the part', async () => {
  const out = join(dir, 'interrupted');
  const list = join(dir, 'int.txt');
  writeFileSync(list, `${lab.url}/files/int.bin?size=1000000&stall=30000&stall_at=200000&fault_first=1&key=int\n`);
  const partDir = join(out, PARTIAL_DIR);
  const run = await cli([list, '-d', out], {
    onSpawn: (child) => {
      void until(() => existsSync(join(partDir, '1.part')) && statSync(join(partDir, '1.part')).size === 200_000, 'a 200 kB part').then(() => child.kill('SIGINT'));
    },
  });
  assert.equal(run.code, 130, run.stderr);
  assert.match(run.stderr, /--resume/);
  assert.equal(statSync(join(partDir, '1.part')).size, 200_000);
});

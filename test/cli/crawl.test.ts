import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultStatePath } from '../../src/cli/crawl.ts';
import { startLab, type Lab } from '../../src/lab/index.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let lab: Lab;
let dir: string;

before(async () => {
  lab = await startLab({ seed: 1 });
  dir = mkdtempSync(join(tmpdir(), 'spate-crawl-cli-'));
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [main, 'crawl', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

function urlsIn(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  return text.split('\n').filter((l) => l.endsWith('}')).map((l) => (JSON.parse(l) as { url: string }).url);
}

/** Polls (the child runs on its own; this only watches its output file). */
async function waitForLines(path: string, n: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (urlsIn(path).length >= n) return;
    if (child.exitCode !== null) throw new Error('the crawl ended before it was killed');
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no ${n} lines in ${path}`);
}

test('spate crawl - SIGKILL mid-crawl, then --resume: every page exactly once', async () => {
  const site = `${lab.url}/site/pages=300,extras=0,latency=10/`;
  const state = join(dir, 'kill.sqlite');
  const output = join(dir, 'kill.jsonl');
  const args = [site, '--state', state, '--output', output, '--concurrency', '4', '--json'];
  const first = start(args);
  await waitForLines(output, 40, first.child);
  first.child.kill('SIGKILL');
  const killed = await first.done;
  assert.equal(killed.signal, 'SIGKILL');
  const before = urlsIn(output).length;
  assert.ok(before >= 40 && before < 300, String(before));

  const again = await start(args).done;
  assert.equal(again.code, 2);
  assert.match(again.stderr, /--resume/);

  const resumed = await start([...args, '--resume']).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  const urls = urlsIn(output);
  assert.equal(urls.length, 300);
  assert.equal(new Set(urls).size, 300);
  const summary = JSON.parse(resumed.stderr.trim().split('\n').at(-1)!) as { summary: { pages: number } };
  assert.equal(summary.summary.pages, 300);
});

test('spate crawl - SIGINT stops gracefully with 130; --resume finishes; --fresh starts over', async () => {
  const site = `${lab.url}/site/pages=200,extras=0,latency=10/`;
  const state = join(dir, 'int.sqlite');
  const output = join(dir, 'int.jsonl');
  const args = [site, '--state', state, '--output', output, '--concurrency', '4'];
  const first = start(args);
  await waitForLines(output, 20, first.child);
  first.child.kill('SIGINT');
  const stopped = await first.done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /interrupted; continue with --resume/);
  const resumed = await start([...args, '--resume']).done;
  assert.equal(resumed.code, 0, resumed.stderr);
  const urls = urlsIn(output);
  assert.equal(urls.length, 200);
  assert.equal(new Set(urls).size, 200);
  const fresh = await start([...args, '--fresh', '--max-pages', '10']).done;
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(urlsIn(output).length, 10);
});

test('spate crawl - JSON lines on stdout by default; exit 1 when some pages failed (404s)', async () => {
  const { code, stdout, stderr } = await start([`${lab.url}/site/pages=30/`, '--state', join(dir, 'stdout.sqlite')]).done;
  assert.equal(code, 1, stderr);
  const records = stdout.trim().split('\n').map((l) => JSON.parse(l) as { url: string; status: number });
  assert.ok(records.some((r) => r.status === 404));
  assert.equal(new Set(records.map((r) => r.url)).size, records.length);
  assert.match(stderr, /pages ok, 3 failed, 3 blocked by robots\.txt/);
});

test('spate crawl - usage errors exit 2', async () => {
  assert.equal((await start(['not a url']).done).code, 2);
  assert.equal((await start([`${lab.url}/`, '--scope', 'world']).done).code, 2);
  assert.equal((await start([`${lab.url}/`, '--include', '(']).done).code, 2);
  assert.equal((await start([`${lab.url}/`, '--max-pages', '-1']).done).code, 2);
  assert.equal((await start([`${lab.url}/`, '--resume', '--fresh']).done).code, 2);
});

test('defaultStatePath() - one file per set of seeds, whatever their order or spelling', () => {
  const a = defaultStatePath(['http://A.example/x', 'http://b.example/']);
  assert.equal(a, defaultStatePath(['http://b.example/', 'http://a.example/x#frag']));
  assert.notEqual(a, defaultStatePath(['http://a.example/x']));
  assert.match(a, /^\.spate\/crawl-[0-9a-f]{12}\.sqlite$/);
});

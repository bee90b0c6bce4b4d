// `spate pipeline` as a user runs it: a child process.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const slow = fileURLToPath(new URL('../pipeline/fixtures/slow-module.ts', import.meta.url));
const example = fileURLToPath(new URL('../../examples/pipeline/module.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spate-pipeline-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  const child = spawn(process.execPath, [main, 'pipeline', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => { stderr += c; onStderr?.(stderr, child); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('spate pipeline run - writes the outputs, reports dead letters with exit 1, --json stats on stdout', async () => {
  const out = join(dir, 'squares.jsonl');
  const r = await cli(['run', example, '-o', out, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const stats = JSON.parse(r.stdout) as { read: number; deadLetters: number; status: string };
  assert.deepEqual([stats.read, stats.deadLetters, stats.status], [100, 1, 'done']);
  const rows = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { x: number });
  assert.equal(rows.length, 99);
  assert.ok(!rows.some((r) => r.x === 13));
});

test('spate pipeline run - usage errors exit 2 with one line', async () => {
  const missing = await cli(['run', join(dir, 'nope.ts')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^spate pipeline run: cannot load .* \(see spate pipeline run --help\)\n$/);
  const both = await cli(['run', example, '--resume', '--fresh']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--resume and --fresh/);
});

test('spate pipeline run --broker - only enqueues: options of a run in process, --prefix alone and a bad URL are usage errors', async () => {
  const usage = (r: Run, about: RegExp) => {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, about);
  };
  usage(await cli(['run', example, '--broker', 'redis://127.0.0.1:1', '--state', join(dir, 'b.sqlite'), '-o', join(dir, 'b.jsonl')]),
    /^spate pipeline run: --broker only enqueues the source .*--state, --output go with a run in process \(see spate pipeline run --help\)$/m);
  usage(await cli(['run', example, '--prefix', 'p']), /--prefix names broker queues: it goes with --broker/);
  usage(await cli(['run', example, '--broker', 'http://127.0.0.1:1']), /--broker: No broker transport for http:/);
});

test('spate pipeline run - Ctrl-C drains and exits 130; a second run needs --resume or --fresh; --resume finishes; dlq list, replay, purge', async () => {
  const state = join(dir, 'slow.sqlite');
  const out = join(dir, 'slow-1.jsonl');
  let sent = false;
  const first = await cli(['run', slow, '--state', state, '-o', out, '--progress-interval', '20ms'], (text, child) => {
    if (!sent && /checkpoint \d+/.test(text)) { sent = true; child.kill('SIGINT'); }
  });
  assert.equal(first.code, 130, first.stderr);
  assert.match(first.stderr, /draining/);
  assert.match(first.stderr, /run the same command with --resume/);
  assert.equal(existsSync(out), false, 'an interrupted run leaves no partial output file');

  const again = await cli(['run', slow, '--state', state]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /pass --resume to continue it or --fresh to start over/);

  const resumed = await cli(['run', slow, '--state', state, '--resume', '--json', '-o', out]);
  assert.equal(resumed.code, 1, resumed.stderr); // item 7's dead letter
  const stats = JSON.parse(resumed.stdout) as { read: number; checkpoint: number; status: string };
  assert.deepEqual([stats.read, stats.checkpoint, stats.status], [3000, 3000, 'done']);
  const xs = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { x: number }).x).sort((a, b) => a - b);
  assert.deepEqual(xs, Array.from({ length: 3000 }, (_, i) => i).filter((i) => i !== 7), 'the output holds both runs, each item once');

  const list = await cli(['dlq', 'list', '--state', state, '--name', 'slow', '--json']);
  assert.equal(list.code, 0);
  const letters = list.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number; item: number; stage: string; error: { code: string } });
  assert.deepEqual(letters.map((l) => [l.item, l.stage, l.error.code]), [[7, 'work', 'E7']]);

  const replay = await cli(['dlq', 'replay', slow, '--state', state, '--json']);
  assert.equal(replay.code, 1); // it fails again and goes back
  assert.deepEqual(JSON.parse(replay.stdout), { replayed: 0, failed: 1 });

  const purge = await cli(['dlq', 'purge', '--state', state, '--name', 'slow']);
  assert.equal(purge.code, 0);
  assert.match(purge.stderr, /purged 1 dead letters/);
  const empty = await cli(['dlq', 'list', '--state', state, '--name', 'slow', '--json']);
  assert.equal(empty.stdout, '');
});

test('spate pipeline dlq --broker - reads a broker\'s dead letters; --broker needs --queue; --state or --broker, not both', async () => {
  const { needService, uniqueQueue } = await import('../pipeline/broker-shared.ts');
  for (const args of [['list'], ['list', '--broker', 'redis://127.0.0.1:6379'], ['purge', '--state', join(dir, 'x.sqlite'), '--broker', 'redis://127.0.0.1:6379', '--queue', 'q']]) {
    const r = await cli(['dlq', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  const skip = await needService('Redis', 6379);
  if (skip) return void console.log(`# skipped the Redis part: ${skip}`);
  const r = await cli(['dlq', 'list', '--broker', 'redis://127.0.0.1:6379', '--queue', uniqueQueue('cli-dlq')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '', 'an empty dead-letter set lists nothing');
});

test('spate pipeline run --state postgres://… - writes the outputs; a second run needs --resume and resumes; dlq list reads the same schema', async (t) => {
  const { dropSchemas, PG_URL, postgresMissing, testSchema } = await import('../helpers/postgres.ts');
  const missing = await postgresMissing();
  if (missing) return void t.skip(missing);
  // the schema comes from the pipeline's name: a fresh name per run of this test, dropped after
  const name = testSchema('cli');
  t.after(() => dropSchemas([`spate_pipeline_${name}`]));
  const out = join(dir, 'pg-squares.jsonl');
  const first = await cli(['run', example, '--state', PG_URL, '--name', name, '-o', out, '--quiet']);
  assert.equal(first.code, 1, first.stderr); // item 13's dead letter
  const xs = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { x: number }).x).sort((a, b) => a - b);
  assert.deepEqual(xs, Array.from({ length: 100 }, (_, i) => i).filter((i) => i !== 13));

  const again = await cli(['run', example, '--state', PG_URL, '--name', name]);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /holds a run of .* pass --resume to continue it or --fresh to start over/);
  const resumed = await cli(['run', example, '--state', PG_URL, '--name', name, '--resume', '-o', out, '--json']);
  assert.equal(resumed.code, 1, resumed.stderr); // the earlier dead letter still counts
  assert.equal(readFileSync(out, 'utf8').trimEnd().split('\n').length, 99, 'the output is written from the shared rows, each item once');

  const list = await cli(['dlq', 'list', '--state', PG_URL, '--name', name, '--json']);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(list.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { item: number; stage: string }).item), [13]);
});

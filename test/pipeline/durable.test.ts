import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { exportRows, keyedSink, MemoryPipelineStore, pipeline, SqlitePipelineStore } from '../../src/pipeline/index.ts';

const child = fileURLToPath(new URL('./fixtures/durable-child.ts', import.meta.url));

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'spate-pipeline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('durable - the checkpoint is a low-water mark: a slow early item holds it back', async () => {
  const store = new MemoryPipelineStore();
  let release!: () => void;
  const slow = new Promise<void>((resolve) => { release = resolve; });
  const checkpoints: number[] = [];
  const original = store.setCheckpoint.bind(store);
  store.setCheckpoint = async (name, position) => { checkpoints.push(position); return original(name, position); };
  const run = pipeline(Array.from({ length: 100 }, (_, i) => i), { name: 'lw', store, checkpointItems: 1 })
    .map(async (x) => { if (x === 3) await slow; return x; }, { concurrency: 4 })
    .run();
  for (let i = 0; i < 200 && checkpoints.length < 3; i++) await new Promise((r) => setImmediate(r));
  assert.ok(checkpoints.every((c) => c <= 3), `checkpoints ${checkpoints.join(',')}`);
  release();
  const result = await run;
  assert.equal(await store.getCheckpoint('lw'), 100);
  assert.equal(result.done, 100);
});

test('durable - a resume skips what the checkpoint covers; --fresh starts over', async () => {
  const store = new MemoryPipelineStore();
  await store.setCheckpoint('r', 7);
  const seen: number[] = [];
  await pipeline(Array.from({ length: 10 }, (_, i) => i), { name: 'r', store }).sink((x) => { seen.push(x); }).run();
  assert.deepEqual(seen.sort(), [7, 8, 9]);
  seen.length = 0;
  await pipeline(Array.from({ length: 3 }, (_, i) => i), { name: 'r', store }).sink((x) => { seen.push(x); }).run({ fresh: true });
  assert.deepEqual(seen.sort(), [0, 1, 2]);
});

test('durable - SIGKILL mid-run, resume: every item exactly once in the keyed sink', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'state.sqlite');
  const n = 4000;
  const first = spawn(process.execPath, [child, path, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => first.on('exit', (_code, signal) => resolve(signal)));
  for await (const line of createInterface({ input: first.stdout })) {
    if (line === 'half') {
      first.kill('SIGKILL');
      break;
    }
    assert.fail(`the child finished before it could be killed: ${line}`);
  }
  assert.equal(await exited, 'SIGKILL');
  {
    const store = SqlitePipelineStore.open(path);
    const checkpoint = await store.getCheckpoint('kill');
    assert.ok(checkpoint !== undefined && checkpoint > 0 && checkpoint < n, `checkpoint ${checkpoint}`);
    await store.close();
  }
  const second = spawn(process.execPath, [child, path, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  second.stdout.on('data', (d: Buffer) => { out += d; });
  const code = await new Promise((resolve) => second.on('exit', resolve));
  assert.equal(code, 0);
  assert.match(out, new RegExp(`done ${n}`));
  const store = SqlitePipelineStore.open(path);
  t.after(() => store.close());
  assert.equal(await store.getCheckpoint('kill'), n);
  const file = join(dir, 'out.jsonl');
  assert.equal(await exportRows(store, 'kill', file), n);
  const rows = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { x: number; double: number });
  assert.equal(rows.length, n);
  assert.deepEqual(rows.map((r) => r.x).sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
  assert.ok(rows.every((r) => r.double === r.x * 2));
});

test('durable - keyed sink keys by source position, so a batch or flatMap output keeps its origins', async () => {
  const store = new MemoryPipelineStore();
  await pipeline([1, 2, 3], { name: 'k', store }).flatMap((x) => [x, -x]).into(keyedSink(store, 'k', (v: number) => String(v)));
  const keys: string[] = [];
  for await (const row of store.rows('k')) keys.push(row.key);
  assert.deepEqual(keys, ['-1', '-2', '-3', '1', '2', '3']);
  assert.equal(await store.getCheckpoint('k'), 3);
});

// Each pipeline example runs as a program, as a user would run it, and its output is checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Semaphore } from '../../src/core/index.ts';

const dir = new URL('../../examples/pipeline/', import.meta.url);
const slots = new Semaphore(2);
const exec = promisify(execFile);
const run = (name: string) => slots.use(async () => {
  const { stdout, stderr } = await exec(process.execPath, [fileURLToPath(new URL(`${name}.ts`, dir))], { timeout: 60_000 });
  assert.equal(stderr, '', `${name} wrote to stderr`);
  return stdout.trimEnd().split('\n');
});

test('every pipeline example has a test', () => {
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.ts')).sort(), [
    'backpressure.ts', 'checkpoints.ts', 'data-pipeline.ts', 'dead-letters.ts', 'dynamic-workers.ts', 'large-file.ts', 'module.ts',
  ]);
});

test('data-pipeline: the seed class and the pipeline give the same 300 results', async () => {
  assert.deepEqual(await run('data-pipeline'), [
    'DataPipeline: 300 results, sum 8955050',
    'pipeline: 300 results, sum 8955050, in order: true',
  ]);
});

test('backpressure: the source stays within buffer + workers of the stage', async () => {
  assert.deepEqual(await run('backpressure'), [
    'read 1000 items, processed 1000',
    'the source never ran more than buffer + workers ahead of the stage',
  ]);
});

test('dynamic-workers: climbs to max, never past it, settles lower', async () => {
  const [counts, peak] = await run('dynamic-workers');
  const seen = counts!.replace('worker counts over time: ', '').split(' → ').map(Number);
  assert.equal(Math.max(...seen), 10);
  assert.ok(seen.at(-1)! <= 4, counts);
  assert.match(peak!, /^peak 10 \(max 10\), settled at [1-4] on the trickle$/);
});

test('dead-letters: two dead letters with stage, code and attempts; one replayed', async () => {
  assert.deepEqual(await run('dead-letters'), [
    'done: 3 saved, 2 dead letters',
    '  parse: "x" EPARSE "not a number: x" after 1 attempt(s)',
    '  enrich: 4 E503 "service unavailable" after 3 attempt(s)',
    'replayed 1 once the service was back; 1 left (the unparseable one)',
  ]);
});

test('checkpoints: a drained run resumes from its checkpoint; every order exactly once', async () => {
  const [first, second, rows] = await run('checkpoints');
  const at = Number(/^first run: drained at checkpoint (\d+)$/.exec(first!)?.[1]);
  assert.ok(at > 0 && at < 1000, first);
  assert.equal(second, `second run: resumed from ${at}, done, checkpoint 1000`);
  assert.equal(rows, '1000 rows, 1000 distinct ids: every order exactly once');
});

test('large-file: the seed 004 aiofiles scenarios', async () => {
  assert.deepEqual(await run('large-file'), [
    'Read: Hello, async file I/O!',
    'Processed input1.txt -> output1.txt: "ONE\\nTWO\\nTHREE\\n"',
    'Processed input2.txt -> output2.txt: "ONE\\nTWO\\nTHREE\\n"',
    'Processed input3.txt -> output3.txt: "ONE\\nTWO\\nTHREE\\n"',
    'Processed 500000 lines, 450000 not empty',
    'memory stayed flat while reading (well under the file size)',
  ]);
});

test('module: importing it runs nothing (it is for spate pipeline run)', async () => {
  assert.deepEqual(await run('module'), ['']);
});

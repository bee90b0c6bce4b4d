// `spate worker` usage errors: one line naming what is wrong, exit 2. (The runs on real brokers
// are in test/pipeline/bullmq.test.ts and amqp.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const fixture = fileURLToPath(new URL('../pipeline/fixtures/square-worker.ts', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [main, 'worker', ...args], { encoding: 'utf8', timeout: 20_000 });

test('spate worker - a broker URL with no transport is a usage error', () => {
  const r = run(fixture, '--broker', 'http://127.0.0.1:1');
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), 'spate worker: No broker transport for http:// (use redis:// for BullMQ or amqp:// for RabbitMQ) (see spate worker --help)');
});

test('spate worker - a module without a stage is a usage error', () => {
  const r = run(fileURLToPath(new URL('../../src/pipeline/errors.ts', import.meta.url)), '--broker', 'redis://127.0.0.1:1');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^spate worker: .*exports no stage.*\(see spate worker --help\)\n$/);
});

test('spate worker - a queue name the brokers cannot take is a usage error', () => {
  const r = run(fixture, '--broker', 'redis://127.0.0.1:1', '--queue', 'a:b');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^spate worker: Expected `queue`/);
});

test('spate worker - --broker is required', () => {
  const r = run(fixture);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /required option '--broker <url>'/);
});

test('spate worker - a pipeline module: --stage must name one of its stages; all its stages need queue names', () => {
  const module = fileURLToPath(new URL('../pipeline/fixtures/two-stage-pipeline.ts', import.meta.url));
  const bad = run(module, '--broker', 'redis://127.0.0.1:1', '--stage', 'nope');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /has no stage 'nope' \(stages: inc, square\)/);
  // No --stage: every stage runs, on <prefix>.<stage>; this pipeline has no name to be the prefix.
  const unnamed = run(module, '--broker', 'redis://127.0.0.1:1');
  assert.equal(unnamed.status, 2);
  assert.match(unnamed.stderr, /^spate worker: the pipeline has no name: .*`prefix`.*\(see spate worker --help\)\n$/);
  const queue = run(module, '--broker', 'redis://127.0.0.1:1', '--prefix', 'p', '--queue', 'q');
  assert.equal(queue.status, 2);
  assert.match(queue.stderr, /^spate worker: --queue names one stage's queue/);
  const prefix = run(fixture, '--broker', 'redis://127.0.0.1:1', '--prefix', 'p');
  assert.equal(prefix.status, 2);
  assert.match(prefix.stderr, /^spate worker: --prefix names the queues of a whole pipeline/);
});

test('spate worker - a pipeline with a batch stage is refused, naming the stage and the transport\'s batch option', () => {
  const module = fileURLToPath(new URL('../pipeline/fixtures/batch-pipeline.ts', import.meta.url));
  const r = run(module, '--broker', 'redis://127.0.0.1:1');
  assert.equal(r.status, 2);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  assert.match(r.stderr, /^spate worker: Stage 'group': batch stages run in process; on a broker, use the transport's `batch` option instead \(see spate worker --help\)\n$/);
});

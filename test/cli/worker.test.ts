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

test('spate worker - a pipeline module with several stages needs --stage, and names them', () => {
  const module = fileURLToPath(new URL('../pipeline/fixtures/two-stage-pipeline.ts', import.meta.url));
  const r = run(module, '--broker', 'redis://127.0.0.1:1');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /has 2 stages; choose one with --stage \(inc, square\)/);
  const bad = run(module, '--broker', 'redis://127.0.0.1:1', '--stage', 'nope');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /has no stage 'nope' \(stages: inc, square\)/);
});

// The distributed example (seed 002's Redis/RabbitMQ task queue) runs on each broker as a user
// would run it: two worker processes, one SIGKILLed mid-run, every item done exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { needService } from '../pipeline/broker-shared.ts';

const exec = promisify(execFile);
const example = fileURLToPath(new URL('../../examples/pipeline/distributed/run.ts', import.meta.url));

for (const [name, port, url] of [['Redis', 6379, 'redis://127.0.0.1:6379'], ['RabbitMQ', 5672, 'amqp://guest:guest@127.0.0.1:5672']] as const) {
  const skip = await needService(name, port);
  if (skip) console.log(`# skipped: ${skip}`);
  test(`examples/pipeline/distributed/run.ts on ${name}: a worker killed mid-run, every item done once`, { skip }, async () => {
    const { stdout } = await exec(process.execPath, [example, url], { timeout: 90_000 });
    assert.deepEqual(stdout.trimEnd().split('\n'), [
      'worker-a killed (SIGKILL) mid-run',
      'worker-b stopped by SIGTERM (exit 0)',
      'every item done once: 100/100, 0 wrong',
    ]);
  });
}

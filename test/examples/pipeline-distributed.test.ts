// The distributed examples run on each broker as a user would run them: seed 002's Redis/RabbitMQ
// task queue (two worker processes, one SIGKILLed mid-run, every item done exactly once), and a
// whole pipeline on a broker (two `spate worker` processes, the source from `spate pipeline run --broker`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { needService } from '../pipeline/broker-shared.ts';

const exec = promisify(execFile);
const example = fileURLToPath(new URL('../../examples/pipeline/distributed/run.ts', import.meta.url));
const whole = fileURLToPath(new URL('../../examples/pipeline/distributed/pipeline-run.ts', import.meta.url));

// Both probes before any test is registered: a test starts as soon as it is, and would race a later probe.
const services = [['Redis', 6379, 'redis://127.0.0.1:6379'], ['RabbitMQ', 5672, 'amqp://guest:guest@127.0.0.1:5672']] as const;
const skips = await Promise.all(services.map(([name, port]) => needService(name, port)));
for (const [index, [name, , url]] of services.entries()) {
  const skip = skips[index];
  if (skip) console.log(`# skipped: ${skip}`);
  test(`examples/pipeline/distributed/run.ts on ${name}: a worker killed mid-run, every item done once`, { skip }, async () => {
    const { stdout } = await exec(process.execPath, [example, url], { timeout: 90_000 });
    assert.deepEqual(stdout.trimEnd().split('\n'), [
      'worker-a killed (SIGKILL) mid-run',
      'worker-b stopped by SIGTERM (exit 0)',
      'every item done once: 100/100, 0 wrong',
    ]);
  });
  test(`examples/pipeline/distributed/pipeline-run.ts on ${name}: every stage on the broker, the outputs of the in-process run, each once`, { skip }, async () => {
    const { stdout } = await exec(process.execPath, [whole, url], { timeout: 90_000 });
    assert.deepEqual(stdout.trimEnd().split('\n'), [
      'enqueued 100 orders into price',
      'workers stopped by SIGTERM (exit 0, 0)',
      '115 outputs, each once, the same as in process',
    ]);
  });
}

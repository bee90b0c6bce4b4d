// A whole pipeline on a broker: two `spate worker orders.ts` processes run every stage of the
// pipeline in orders.ts (each stage on its own queue `<prefix>.<stage>`), and
// `spate pipeline run orders.ts --broker URL` enqueues its source. The keyed sink ends up with the
// same outputs the pipeline gives in process, each once.
//
//   npx node examples/pipeline/distributed/pipeline-run.ts                                  # BullMQ on Redis
//   npx node examples/pipeline/distributed/pipeline-run.ts amqp://guest:guest@127.0.0.1:5672 # RabbitMQ
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { connectBroker } from '../../../src/pipeline/broker.ts';
import { pipelineQueues } from '../../../src/pipeline/distributed.ts';
import orders from './orders.ts';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const prefix = `orders-${process.pid}`;
const out = mkdtempSync(join(tmpdir(), 'spate-orders-'));
const main = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
const module = new URL('orders.ts', import.meta.url).pathname;

function startWorker() {
  const child = spawn(process.execPath, [main, 'worker', module, '--broker', url, '--prefix', prefix, '--json'], {
    env: { ...process.env, SPATE_EXAMPLE_OUT: out },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if ((JSON.parse(line) as { type: string }).type === 'ready') resolve();
    });
  });
  return { child, ready, exit: new Promise<number | null>((resolve) => child.once('exit', resolve)) };
}

const workers = [startWorker(), startWorker()];
await Promise.all(workers.map((w) => w.ready));
const { stdout } = await promisify(execFile)(process.execPath, [main, 'pipeline', 'run', module, '--broker', url, '--prefix', prefix, '--json']);
const { enqueued, queue } = JSON.parse(stdout) as { enqueued: number; queue: string };
console.log(`enqueued ${enqueued} orders into ${queue.slice(prefix.length + 1)}`);

// What the same pipeline gives in process: the outputs to expect (the broker adds keys).
const expected: string[] = [];
for await (const line of orders) expected.push(JSON.stringify(line));
expected.sort();

const sunk = (): Map<string, string> => {
  const byKey = new Map<string, string>();
  for (const file of readdirSync(out)) {
    for (const text of readFileSync(join(out, file), 'utf8').split('\n').filter(Boolean)) {
      const { key, line } = JSON.parse(text) as { key: string; line: unknown };
      byKey.set(key, JSON.stringify(line));
    }
  }
  return byKey;
};
while (sunk().size < expected.length) await new Promise((r) => setTimeout(r, 50));
for (const w of workers) w.child.kill('SIGTERM');
const codes = await Promise.all(workers.map((w) => w.exit));
console.log(`workers stopped by SIGTERM (exit ${codes.join(', ')})`);

const got = [...sunk().values()].sort();
const same = got.length === expected.length && got.every((v, i) => v === expected[i]);
console.log(`${got.length} outputs, each once, ${same ? 'the same as in process' : 'NOT the same as in process'}`);
for (const { queue: name } of pipelineQueues(orders, { prefix })) {
  const broker = await connectBroker(url, { queue: name });
  await broker.destroy();
  await broker.close();
}
rmSync(out, { recursive: true, force: true });

// Seed 002, "分布式任务队列: Redis 或 RabbitMQ 作为跨进程任务队列": a producer and two worker
// processes on a real broker; one worker is killed (SIGKILL) mid-run, and every item is still done
// exactly once in the keyed sink.
//
//   npx node examples/pipeline/distributed/run.ts                                  # BullMQ on Redis
//   npx node examples/pipeline/distributed/run.ts amqp://guest:guest@127.0.0.1:5672 # RabbitMQ
//
// What spate adds to a bare queue: the worker runs an unchanged stage definition; the producer
// waits when the queue is full; a killed worker's jobs come back (BullMQ's stalled check with a
// 1 s lease, RabbitMQ's requeue of unacked deliveries); retries and dead letters live in the broker.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connectBroker } from '../../../src/pipeline/broker.ts';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const queue = `example-${process.pid}`;
const out = mkdtempSync(join(tmpdir(), 'spate-distributed-'));
const total = 100;
const main = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
const module = new URL('worker.ts', import.meta.url).pathname;

function startWorker(name: string) {
  const child = spawn(process.execPath, [main, 'worker', module, '--broker', url, '--queue', queue, '--lease', '1s', '--json'], {
    env: { ...process.env, SPATE_EXAMPLE_OUT: out },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let done = 0;
  const listeners: (() => void)[] = [];
  const ready = new Promise<void>((resolve) => listeners.push(resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as { type: string };
    if (event.type === 'ready') listeners.shift()?.();
    if (event.type === 'done') done++;
  });
  return { name, child, ready, done: () => done, exit: new Promise((resolve) => child.once('exit', resolve)) };
}

const broker = await connectBroker(url, { queue, maxQueued: 50, lease: 1000 });
const a = startWorker('worker-a');
const b = startWorker('worker-b');
await Promise.all([a.ready, b.ready]);

// Producer: 100 items, never more than 50 waiting in the broker.
const producing = broker.producer<{ id: number }>().enqueueAll(Array.from({ length: total }, (_, id) => ({ id })), { key: (item) => `item-${item.id}` });

// Kill worker-a once it has done 10 items: its jobs in flight must come back to worker-b.
while (a.done() < 10) await new Promise((r) => setTimeout(r, 10));
a.child.kill('SIGKILL');
await a.exit;
console.log(`${a.name} killed (SIGKILL) mid-run`);
await producing;

const sunk = (): Map<string, number> => {
  const byKey = new Map<string, number>();
  for (const file of readdirSync(out)) {
    for (const line of readFileSync(join(out, file), 'utf8').split('\n').filter(Boolean)) {
      const { key, square } = JSON.parse(line) as { key: string; square: number };
      byKey.set(key, square);
    }
  }
  return byKey;
};
while (sunk().size < total) await new Promise((r) => setTimeout(r, 50));
b.child.kill('SIGTERM');
const code = await b.exit;
console.log(`${b.name} stopped by SIGTERM (exit ${String(code)})`);

const byKey = sunk();
const wrong = [...byKey].filter(([key, square]) => Number(key.slice(5)) ** 2 !== square);
console.log(`every item done once: ${byKey.size}/${total}, ${wrong.length} wrong`);
await broker.destroy();
await broker.close();
rmSync(out, { recursive: true, force: true });

// `pipeline/bullmq` and `pipeline/rabbitmq`: jobs/s through W worker processes, spate's worker
// vs the bare client's consumer doing the same work at the same concurrency. The queue is filled
// first (spate's producer, or the bare client's bulk add / confirmed publish), then the workers
// are told to go; the clock runs from `go` to the last item done.
//   node pipeline/broker.ts <spate|spate-batch|bullmq|amqplib> --kind=<bullmq|amqp> --workers=1 --n=20000
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { args, report } from '../lib.ts';
import { connectBroker } from '../../src/pipeline/broker.ts';

const impl = process.argv[2] ?? 'spate';
const opts = args({ workers: 1, n: 20_000, concurrency: 16, batch: 10 });
const kind = process.argv.find((a) => a.startsWith('--kind='))?.slice(7) ?? 'bullmq';
const url = kind === 'bullmq' ? 'redis://127.0.0.1:6379' : 'amqp://guest:guest@127.0.0.1:5672';
const queue = `bench-${impl}-${process.pid}`;
const batch = impl === 'spate-batch' ? opts.batch : 1;

const broker = await connectBroker(url, { queue, batch, maxQueued: opts.n + 1 });
try {
  const items = Array.from({ length: opts.n }, (_, n) => ({ n }));
  await broker.producer<{ n: number }>().enqueueAll(items, { key: (item) => `i${item.n}` });

  const workerImpl = impl.startsWith('spate') ? 'spate' : impl;
  const workers = Array.from({ length: opts.workers }, () => spawn(process.execPath, ['pipeline/broker-worker.ts', workerImpl, kind, queue, String(opts.concurrency)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((resolve) => (finish = resolve));
  const ready = workers.map((w) => new Promise<void>((resolve) => {
    createInterface({ input: w.stdout }).on('line', (line) => {
      if (line === 'ready') resolve();
      if (line.startsWith('+') && (done += Number(line.slice(1))) >= opts.n) finish();
    });
  }));
  await Promise.all(ready);
  const t0 = performance.now();
  for (const w of workers) w.stdin.write('go\n');
  await all;
  const seconds = (performance.now() - t0) / 1000;
  for (const w of workers) w.stdin.end('stop\n');
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
  report(opts.n / seconds);
} finally {
  await broker.destroy();
  await broker.close();
}

// One worker process of the broker benchmarks: spate's worker or the bare client's consumer,
// doing the same work at the same concurrency. Connects, prints `ready`, starts consuming on
// `go` from stdin, prints `+k` as k items finish and exits on `stop`.
import { createInterface } from 'node:readline';

const [impl = 'spate', kind = 'bullmq', queue = 'bench', c = '16'] = process.argv.slice(2);
const concurrency = Number(c);
const redisUrl = 'redis://127.0.0.1:6379';
const amqpUrl = 'amqp://guest:guest@127.0.0.1:5672';

// The work: a small async transform of one item (broker overhead is what is measured).
async function work(item: { n: number }): Promise<number> {
  await Promise.resolve();
  return item.n * item.n;
}

// Progress goes out as `+k` lines, at most one per event-loop turn.
let pending = 0;
const tick = (k = 1): void => {
  if (pending === 0) setImmediate(() => {
    process.stdout.write(`+${pending}\n`);
    pending = 0;
  });
  pending += k;
};

let start: () => Promise<void>;
let stop: () => Promise<void>;

if (impl === 'spate') {
  const { connectBroker } = await import('../../src/pipeline/broker.ts');
  const { defineStage } = await import('../../src/pipeline/stage.ts');
  const broker = await connectBroker(kind === 'bullmq' ? redisUrl : amqpUrl, { queue });
  const stage = defineStage<{ n: number }, number>('map', (item: { n: number }) => work(item), { name: 'bench', concurrency });
  let worker: Awaited<ReturnType<typeof broker.worker>> | undefined;
  start = async () => {
    worker = await broker.worker(stage, { onEvent: (e) => e.type === 'done' && tick() });
  };
  stop = async () => {
    await worker?.close();
    await broker.close();
  };
} else if (kind === 'bullmq') {
  const { Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  let worker: InstanceType<typeof Worker> | undefined;
  start = async () => {
    worker = new Worker(queue, async (job) => {
      const data = job.data as { items: { n: number }[] };
      for (const item of data.items) await work(item);
      tick(data.items.length);
    }, { connection, prefix: 'spate', concurrency, removeOnComplete: { count: 1000 } });
    await worker.waitUntilReady();
  };
  stop = async () => {
    await worker?.close();
    connection.disconnect();
  };
} else {
  const amqp = await import('amqplib');
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  start = async () => {
    await ch.prefetch(concurrency);
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      const data = JSON.parse(msg.content.toString()) as { items: { n: number }[] };
      void Promise.all(data.items.map(work)).then(() => {
        ch.ack(msg);
        tick(data.items.length);
      });
    });
  };
  stop = async () => {
    await ch.close();
    await conn.close();
  };
}

process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'go') await start();
  if (line === 'stop') {
    await stop();
    break;
  }
}

// core/map: N items streamed through an async function with a concurrency limit; memory must stay
// bounded (the input is a generator, results are consumed as they come).
// Usage: node map.ts <impl> --n=1000000 --limit=100
import { args, report } from '../lib.ts';

const impl = process.argv[2];
const { n, limit } = args({ n: 1_000_000, limit: 100 }) as { n: number; limit: number };
const work = async (x: number) => x * 2;
function* items() {
  for (let i = 0; i < n; i++) yield i;
}

async function run(): Promise<void> {
  let sum = 0;
  const start = performance.now();
  switch (impl) {
    case 'spate': {
      const { map } = await import('../../src/core/index.ts');
      for await (const r of map(items(), (x) => work(x), { concurrency: limit })) sum += r;
      break;
    }
    case 'p-limit': {
      // p-limit has no streaming form: every item is submitted at once (its memory grows with n).
      const { default: pLimit } = await import('p-limit');
      const lim = pLimit(limit);
      const all: Promise<number>[] = [];
      for (const x of items()) all.push(lim(() => work(x)));
      for (const r of await Promise.all(all)) sum += r;
      break;
    }
    case 'p-queue': {
      // p-queue's backpressure: wait until fewer than `limit` are queued before adding more.
      const { default: PQueue } = await import('p-queue');
      const queue = new PQueue({ concurrency: limit });
      for (const x of items()) {
        if (queue.size >= limit) await queue.onSizeLessThan(limit);
        void queue.add(async () => {
          const r = await work(x);
          sum += r;
        });
      }
      await queue.onIdle();
      break;
    }
    case 'minimal': {
      // `limit` workers pulling from one iterator: the hand-written floor.
      const it = items();
      const worker = async () => {
        for (let next = it.next(); !next.done; next = it.next()) {
          const r = await work(next.value);
          sum += r;
        }
      };
      await Promise.all(Array.from({ length: limit }, worker));
      break;
    }
    default:
      throw new Error(`unknown impl ${impl}`);
  }
  if (sum !== n * (n - 1)) throw new Error(`wrong sum ${sum}`);
  report(n / ((performance.now() - start) / 1000));
}

await run();

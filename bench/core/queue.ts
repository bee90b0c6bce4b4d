// core/queue: one producer and C consumers move N items through a bounded queue.
// Usage: node queue.ts <impl> --n=1000000 --consumers=100 --maxsize=1000
import { args, report } from '../lib.ts';

const impl = process.argv[2];
const { n, consumers, maxsize } = args({ n: 1_000_000, consumers: 100, maxsize: 1000 }) as Record<string, number>;

async function run(): Promise<void> {
  if (impl !== 'spate') throw new Error(`unknown impl ${impl}`);
  const { Queue } = await import('../../src/core/index.ts');
  const queue = new Queue<number>({ maxsize: maxsize! });
  let got = 0;
  const start = performance.now();
  const consumer = async () => {
    for (;;) {
      const item = await queue.get();
      if (item < 0) return;
      got++;
    }
  };
  const all = Array.from({ length: consumers! }, consumer);
  for (let i = 0; i < n!; i++) await queue.put(i);
  for (let i = 0; i < consumers!; i++) await queue.put(-1);
  await Promise.all(all);
  if (got !== n) throw new Error(`lost items: ${got} of ${n}`);
  report(n! / ((performance.now() - start) / 1000));
}

await run();

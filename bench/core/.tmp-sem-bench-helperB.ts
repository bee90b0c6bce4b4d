// core/semaphore: N no-op async tasks submitted at once through a concurrency limit.
// Usage: node semaphore.ts <impl> --n=1000000 --limit=100
import { args, report } from '../lib.ts';

const impl = process.argv[2];
const { n, limit } = args({ n: 1_000_000, limit: 100 }) as { n: number; limit: number };
const noop = async () => {};

class MinimalSemaphore {
  #free: number;
  #waiters: (() => void)[] = [];
  #head = 0;
  constructor(n: number) {
    this.#free = n;
  }
  acquire(): Promise<void> | void {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  release(): void {
    if (this.#head < this.#waiters.length) {
      const next = this.#waiters[this.#head]!;
      this.#waiters[this.#head++] = undefined as never;
      next();
    } else this.#free++;
  }
}

async function run(): Promise<void> {
  const start = performance.now();
  switch (impl) {
    case 'spate': {
      const { Semaphore } = await import('../../src/core/semaphore.ts');
      const sem = new Semaphore(limit);
      const all = new Array<Promise<void>>(n);
      for (let i = 0; i < n; i++) all[i] = sem.use(noop);
      await Promise.all(all);
      break;
    }
    case 'p-limit': {
      const { default: pLimit } = await import('p-limit');
      const lim = pLimit(limit);
      const all = new Array<Promise<void>>(n);
      for (let i = 0; i < n; i++) all[i] = lim(noop);
      await Promise.all(all);
      break;
    }
    case 'p-queue': {
      const { default: PQueue } = await import('p-queue');
      const queue = new PQueue({ concurrency: limit });
      for (let i = 0; i < n; i++) void queue.add(noop);
      await queue.onIdle();
      break;
    }
    case 'async-mutex': {
      const { Semaphore } = await import('async-mutex');
      const sem = new Semaphore(limit);
      const all = new Array<Promise<void>>(n);
      for (let i = 0; i < n; i++) all[i] = sem.runExclusive(noop);
      await Promise.all(all);
      break;
    }
    case 'minimal': {
      const sem = new MinimalSemaphore(limit);
      const one = async () => {
        await sem.acquire();
        try {
          await noop();
        } finally {
          sem.release();
        }
      };
      const all = new Array<Promise<void>>(n);
      for (let i = 0; i < n; i++) all[i] = one();
      await Promise.all(all);
      break;
    }
    case 'promise-all': {
      const all = new Array<Promise<void>>(n);
      for (let i = 0; i < n; i++) all[i] = noop();
      await Promise.all(all);
      break;
    }
    default:
      throw new Error(`unknown impl ${impl}`);
  }
  report(n / ((performance.now() - start) / 1000));
}

await run();

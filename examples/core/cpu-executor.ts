// Seeds: cpu_intensive_task via run_in_executor(ThreadPoolExecutor), serialised by Python's GIL. spate's
// Executor runs it on worker threads in parallel, the event loop stays responsive, and a call can be cancelled.
import { gather } from '../../src/core/index.ts';
import { Executor } from '../../src/exec/index.ts';
import { countPrimes } from './workers/cpu.ts';

const sizes = [1, 2, 3, 4, 5].map((n) => n * 100_000);
let ticks = 0;
const ticker = setInterval(() => ticks++, 10); // stands for everything else the program serves

// 1. On the event-loop thread: while it computes, nothing else runs.
const onLoop = sizes.map((limit) => countPrimes(limit));
console.log(`on the event loop: ${onLoop.join(', ')} primes; the ticker ticked ${ticks} times meanwhile`);

// 2. On worker threads: the same work, while the ticker keeps going.
{
  await using executor = new Executor({ filename: new URL('./workers/cpu.ts', import.meta.url), maxThreads: 2 });
  ticks = 0;
  const results = await gather(sizes.map((limit) => executor.run<number>('countPrimes', limit)));
  console.log(`in the executor: ${results.join(', ')} primes; the ticker ${ticks >= 5 ? 'kept ticking (5+ times)' : `ticked only ${ticks} times`}`);

  // 3. Cancelling CPU work: a Python thread cannot be stopped; a worker thread can.
  try {
    await executor.run('countPrimes', 1e9, { signal: AbortSignal.timeout(100) });
  } catch (error) {
    console.log(`a huge count was stopped after 0.1 s: ${(error as Error).name}`);
  }
  console.log(`executor: ${executor.stats().completed} calls completed`);
}
clearInterval(ticker);

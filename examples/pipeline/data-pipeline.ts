// Seed 002 "数据处理管道": DataPipeline as written — a producer, 3 workers, an input queue of 100 and
// an output queue — then the same thing as one spate pipeline.
// spate: the stage says what it does (`map`, concurrency 3, buffer 100); the producer, the workers,
// task_done/join and cancelling the workers at the end are the library's job, not the reader's.
import { Queue, sleep, TaskGroup } from '../../src/core/index.ts';
import { pipeline } from '../../src/pipeline/index.ts';

const processItem = async (item: number): Promise<number> => {
  await sleep(1);
  return item * item;
};

// 1. The seed's class, line for line: asyncio.Queue(maxsize=100), three workers, join, then stop them.
class DataPipeline {
  readonly inputQueue = new Queue<number>({ maxsize: 100 });
  readonly outputQueue = new Queue<number>();
  readonly numWorkers: number;
  constructor(numWorkers = 3) {
    this.numWorkers = numWorkers;
  }

  async producer(dataSource: Iterable<number>): Promise<void> {
    for (const item of dataSource) await this.inputQueue.put(item);
  }

  async worker(): Promise<void> {
    for await (const item of this.inputQueue) {
      try {
        await this.outputQueue.put(await processItem(item));
      } finally {
        this.inputQueue.taskDone();
      }
    }
  }

  async runPipeline(dataSource: Iterable<number>): Promise<void> {
    await TaskGroup.run(async (group) => {
      for (let i = 0; i < this.numWorkers; i++) group.spawn(() => this.worker());
      await this.producer(dataSource);
      await this.inputQueue.join();
      this.inputQueue.shutdown(); // the seed cancels its workers; here their loops just end
    });
  }
}

const data = Array.from({ length: 300 }, (_, i) => i);
const seed = new DataPipeline(3);
await seed.runPipeline(data);
const fromQueue: number[] = [];
while (!seed.outputQueue.empty()) fromQueue.push(seed.outputQueue.getNowait());
console.log(`DataPipeline: ${fromQueue.length} results, sum ${fromQueue.reduce((a, b) => a + b, 0)}`);

// 2. The same as a spate pipeline: 3 workers, an input buffer of 100, the outputs read in order.
const out: number[] = [];
for await (const square of pipeline(data).map(processItem, { concurrency: 3, buffer: 100, ordered: true })) out.push(square);
console.log(`pipeline: ${out.length} results, sum ${out.reduce((a, b) => a + b, 0)}, in order: ${out.every((v, i) => v === i * i)}`);

// Seeds: producers and consumers on asyncio.Queue with task_done()/join(), and DataPipeline's dead letters.
// spate: shutdown() ends the consumers' `for await` loops (no None sentinel, no cancel); a TaskGroup waits.
import { Queue, sleep, TaskGroup } from '../../src/core/index.ts';

const queue = new Queue<string>({ maxsize: 3 });
const results: string[] = [];
const deadLetter: string[] = [];
const handledBy = new Map<number, number>();
let largest = 0;

async function producer(id: number, count: number, signal: AbortSignal): Promise<void> {
  for (let i = 0; i < count; i++) {
    await queue.put(`Item-${id}-${i}`, { signal }); // waits while the queue holds 3: backpressure
    largest = Math.max(largest, queue.size);
    await sleep(10, { signal });
  }
}

async function consumer(id: number): Promise<void> {
  for await (const item of queue) {
    try {
      await sleep(30);
      if (item === 'Item-1-3') throw new Error('bad record');
      results.push(item);
    } catch (error) {
      deadLetter.push(`${item} (${(error as Error).message})`);
    } finally {
      handledBy.set(id, (handledBy.get(id) ?? 0) + 1);
      queue.taskDone();
    }
  }
}

await TaskGroup.run(async (group) => {
  for (let id = 0; id < 3; id++) group.spawn(() => consumer(id), { name: `consumer-${id}` });
  const producers = [0, 1].map((id) => group.spawn(({ signal }) => producer(id, 5, signal), { name: `producer-${id}` }));
  await Promise.all(producers);
  await queue.join(); // every item got and marked done
  console.log(`join() returned after ${[...handledBy.values()].reduce((a, b) => a + b, 0)} taskDone() calls`);
  queue.shutdown(); // the consumers' loops end; the group waits for them
});

console.log(`processed ${results.length}: ${results.sort().join(' ')}`);
console.log(`dead letter: ${deadLetter.join(', ')}`);
console.log(largest <= 3 ? 'the queue never held more than 3 items (maxsize 3)' : `the queue held ${largest} items?`);
console.log(`all ${handledBy.size} consumers took a share; all of them have stopped`);

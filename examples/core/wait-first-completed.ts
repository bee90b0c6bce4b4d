// Seeds: asyncio.wait(FIRST_COMPLETED) and cancel the pending tasks — the search-engine race. spate's
// cancel() reaches the losers' I/O through their signals, and asCompleted + break does it in one loop.
import { asCompleted, createTask, sleep, wait, type TaskContext } from '../../src/core/index.ts';

const engines = [
  { name: 'Google', ms: 250 },
  { name: 'Bing', ms: 400 },
  { name: 'DuckDuckGo', ms: 60 },
];

async function search(query: string, engine: string, ms: number, { signal }: TaskContext): Promise<string> {
  try {
    await sleep(ms, { signal });
    return `${engine}: Results for '${query}'`;
  } catch (error) {
    console.log(`${engine}: request aborted`);
    throw error;
  }
}

const query = 'python asyncio';
const tasks = engines.map(({ name, ms }) => createTask((ctx) => search(query, name, ms, ctx), { name }));
const { done, pending } = await wait(tasks, { returnWhen: 'FIRST_COMPLETED' });
for (const task of done) console.log(`First completed: ${task.result()}`);
console.log(`Still pending: ${[...pending].map((task) => task.name).join(', ')}`);
for (const task of pending) task.cancel();
await wait(pending);
console.log(tasks.map((task) => `${task.name} ${task.state}`).join(', '));

// The same race in one loop: leaving asCompleted early cancels whatever is still running.
for await (const result of asCompleted(engines.map(({ name, ms }) => (ctx: TaskContext) => search(query, name, ms, ctx)))) {
  console.log(`Winner: ${result}`);
  break;
}

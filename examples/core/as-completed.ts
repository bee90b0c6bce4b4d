// Seeds: asyncio.as_completed — fetch_data results in completion order, search results as they arrive.
// spate: an async generator with a deadline for the whole loop; leaving it cancels what still runs.
import { asCompleted, sleep, TimeoutError, type TaskContext } from '../../src/core/index.ts';

async function fetchData(urlId: number, ms: number, { signal }: TaskContext): Promise<string> {
  await sleep(ms, { signal });
  return `Data from URL ${urlId}`;
}

const fetches = [
  (ctx: TaskContext) => fetchData(1, 500, ctx),
  (ctx: TaskContext) => fetchData(2, 100, ctx),
  (ctx: TaskContext) => fetchData(3, 300, ctx),
];
for await (const result of asCompleted(fetches)) console.log(`Received: ${result}`);

// With a deadline for the whole loop: what arrived in time is shown, the rest is cancelled.
const engines = [
  { name: 'Google', ms: 150 },
  { name: 'Bing', ms: 450 },
  { name: 'DuckDuckGo', ms: 50 },
];
async function searchEngine(query: string, engine: string, ms: number, { signal }: TaskContext): Promise<string> {
  try {
    await sleep(ms, { signal });
  } catch (error) {
    console.log(`${engine}: cancelled`);
    throw error;
  }
  return `${engine}: Results for '${query}'`;
}
console.log('Searching...');
try {
  const searches = engines.map(({ name, ms }) => (ctx: TaskContext) => searchEngine('python asyncio', name, ms, ctx));
  for await (const result of asCompleted(searches, { timeout: 300 })) console.log(result);
} catch (error) {
  if (!(error instanceof TimeoutError)) throw error;
  console.log(`Stopped waiting: ${error.message}`);
}

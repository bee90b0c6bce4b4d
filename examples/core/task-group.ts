// Seeds: what asyncio 3.11 adds, TaskGroup, for fan-outs like the API pipeline's details + posts. spate's
// TaskGroup waits for its children, cancels siblings on a failure, and raises every failure together.
import { sleep, TaskGroup, TaskGroupError, type TaskContext } from '../../src/core/index.ts';

async function fetchJson(what: string, ms: number, { signal }: TaskContext, fail = false): Promise<string> {
  try {
    await sleep(ms, { signal });
  } catch (error) {
    console.log(`  ${what}: cancelled`);
    throw error;
  }
  if (fail) throw new Error(`${what}: HTTP 500`);
  return what;
}

// 1. All children succeed: the group returns when the last one has.
const [details, posts] = await TaskGroup.run((group) =>
  Promise.all([
    group.spawn((ctx) => fetchJson('user 1 details', 100, ctx)),
    group.spawn((ctx) => fetchJson('user 1 posts', 150, ctx)),
  ]),
);
console.log(`got ${details} and ${posts}`);

// 2. One child fails: its siblings are cancelled, and the group has waited for them to stop.
try {
  await TaskGroup.run((group) => {
    group.spawn((ctx) => fetchJson('user 2 details', 300, ctx));
    group.spawn((ctx) => fetchJson('user 2 posts', 50, ctx, true));
    group.spawn((ctx) => fetchJson('user 2 avatar', 300, ctx));
  }, { name: 'user-2' });
} catch (error) {
  if (!(error instanceof TaskGroupError)) throw error;
  console.log(`${error.message}: ${error.errors.map((e: Error) => e.message).join(', ')}`);
}

// 3. `await using`: the scope's end waits for the children (spawned in a loop, results kept).
const pages: string[] = [];
{
  await using group = new TaskGroup({ name: 'crawl' });
  for (const page of [1, 2, 3]) {
    group.spawn(async (ctx) => {
      pages.push(await fetchJson(`page ${page}`, 40 * (4 - page), ctx));
    });
  }
  console.log(`spawned 3 children; ${group.size} running`);
}
console.log(`after the block: ${pages.join(', ')} (in completion order)`);

// 4. An outer deadline cancels the whole group.
try {
  await TaskGroup.run((group) => {
    for (const user of [3, 4]) group.spawn((ctx) => fetchJson(`user ${user}`, 1000, ctx));
  }, { name: 'users', signal: AbortSignal.timeout(100) });
} catch (error) {
  console.log(`group stopped: ${(error as Error).name}`);
}

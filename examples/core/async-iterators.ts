// Seeds: AsyncRange, AsyncDatabaseCursor, AsyncFileReader (__aiter__/__anext__ classes). spate: an async
// generator is all that, its `finally` is the cleanup (also on break), and map() consumes it concurrently.
import { open, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { map, sleep } from '../../src/core/index.ts';

async function* asyncRange(start: number, end: number): AsyncGenerator<number> {
  for (let i = start; i < end; i++) {
    await sleep(20); // getting the next value takes a while
    yield i;
  }
}

for await (const number of asyncRange(1, 5)) console.log(`Got number: ${number}`);

interface User {
  id: number;
  name: string;
}

async function* query(sql: string, { signal }: { signal?: AbortSignal } = {}): AsyncGenerator<User> {
  console.log(`cursor: executing ${sql}`);
  await sleep(50, { signal });
  const rows = [{ id: 1, name: 'Alice' }, { id: 2, name: 'Bob' }, { id: 3, name: 'Charlie' }];
  try {
    for (const row of rows) {
      await sleep(10, { signal }); // fetching the next row
      yield row;
    }
  } finally {
    console.log('cursor: closed');
  }
}

for await (const row of query('SELECT * FROM users')) console.log(`User: ${row.name}`);

// Leaving the loop early still closes the cursor.
for await (const row of query('SELECT * FROM users')) {
  if (row.name === 'Bob') {
    console.log('found Bob, stopping');
    break;
  }
}

// Rows streamed through a concurrent step, two at a time, results in input order.
const enrich = async (user: User, { signal }: { signal: AbortSignal }) => {
  await sleep(user.id === 1 ? 60 : 10, { signal });
  return `${user.name} (${user.id})`;
};
const enriched: string[] = [];
for await (const user of map(query('SELECT * FROM users'), enrich, { concurrency: 2, ordered: true })) enriched.push(user);
console.log(`enriched: ${enriched.join(', ')}`);

// AsyncFileReader: Node's FileHandle is already an async-disposable line reader.
const dir = await mkdtemp(join(tmpdir(), 'spate-example-'));
try {
  const path = join(dir, 'data.txt');
  await writeFile(path, 'Line 1\nLine 2\nLine 3\n');
  await using file = await open(path);
  for await (const line of file.readLines()) console.log(line);
} finally {
  await rm(dir, { recursive: true });
}

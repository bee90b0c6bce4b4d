// Seeds: AsyncResourcePool(create_database_connection, max_size=5) for ten callers; asyncpg's pool.acquire().
// spate's ResourcePool lends FIFO, takes connections back however the work ends, times out, closes them all.
import { gather, ResourcePool, sleep, TimeoutError } from '../../src/core/index.ts';

class Connection {
  readonly id: number;
  queries = 0;
  constructor(id: number) {
    this.id = id;
  }
  async query(sql: string, signal?: AbortSignal): Promise<string> {
    this.queries++;
    await sleep(100, { signal });
    return `Results for: ${sql}`;
  }
  async close(): Promise<void> {
    await sleep(10);
  }
}

let opened = 0;
let closed = 0;
const connections: Connection[] = [];
{
  await using pool = new ResourcePool<Connection>({
    create: async ({ signal }) => {
      await sleep(50, { signal }); // connecting takes a while
      const connection = new Connection(++opened);
      connections.push(connection);
      return connection;
    },
    destroy: async (connection) => {
      await connection.close();
      closed++;
    },
    max: 5,
  });

  // Ten callers, five connections: the second five wait for a connection to come back.
  const rows = await gather(Array.from({ length: 10 }, (_, i) => () => pool.use((db, { signal }) => db.query(`SELECT ${i}`, signal))));
  console.log(`${rows.length} queries, e.g. "${rows[0]}"`);
  console.log(`connections opened: ${opened}; queries per connection: ${connections.map((c) => c.queries).join(', ')}`);

  // All five leased: one more caller gives up after its timeout instead of waiting forever.
  const leases = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
  try {
    await pool.acquire({ timeout: 100 });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log(`pool exhausted: ${error.message}`);
  }
  for (const lease of leases) lease.release();
  console.log(pool.stats());
} // `await using`: close() waits for every lease, then destroys every connection
console.log(`connections closed: ${closed}`);

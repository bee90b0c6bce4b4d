import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresWorkQueue, schemaName } from '../../src/store/postgres-queue.ts';
import { PgSqlClient } from '../../src/store/sql-client.ts';
import { dropSchemas, PG_URL, postgresMissing, testSchema } from '../helpers/postgres.ts';
import { workQueueConformance } from './work-queue-conformance.ts';

const missing = await postgresMissing();
if (missing !== undefined) {
  test(missing, { skip: true }, () => {});
} else {
  const client = new PgSqlClient(PG_URL, { max: 8 });
  const schemas: string[] = [];
  let schema = '';
  before(() => {});
  after(async () => {
    await dropSchemas(schemas);
    await client.close();
  });

  workQueueConformance('PostgresWorkQueue', {
    async reset() {
      schema = testSchema('spate_q');
      schemas.push(schema);
    },
    async open(options) {
      // The suite plays dead workers, so no renewal timer (its own test is below): with the
      // default (leaseMs / 3), a 1 ms lease would be renewed every 1 ms and might never run out.
      return PostgresWorkQueue.open(client, { schema, renewMs: 3_600_000, ...options });
    },
  });

  test('PostgresWorkQueue - many workers create the same schema at once without a race', async () => {
    const s = testSchema('spate_q');
    schemas.push(s);
    const queues = await Promise.all(Array.from({ length: 5 }, (_, i) => PostgresWorkQueue.open(client, { schema: s, owner: `w${i}` })));
    assert.deepEqual(await queues[0]!.add([{ key: 'a' }]), [true]);
    for (const q of queues) await q.close();
  });

  test('PostgresWorkQueue - a held lease is renewed while the worker lives, so nobody else takes it', async () => {
    const s = testSchema('spate_q');
    schemas.push(s);
    const w1 = await PostgresWorkQueue.open(client, { schema: s, owner: 'w1', leaseMs: 200, renewMs: 20 });
    const w2 = await PostgresWorkQueue.open(client, { schema: s, owner: 'w2' });
    await w1.add([{ key: 'a' }]);
    assert.equal((await w1.claim(1)).length, 1);
    // Five lease lengths later the item is still w1's: the renewals hold it.
    const end = Date.now() + 1000;
    while (Date.now() < end) {
      assert.deepEqual(await w2.claim(1), []);
      await new Promise((r) => setTimeout(r, 50));
    }
    await w1.close();
    await w2.close();
  });

  test('schemaName - any text becomes a valid schema name', () => {
    assert.equal(schemaName('Crawl 127.0.0.1:8080/site'), 'crawl_127_0_0_1_8080_site');
    assert.equal(schemaName('9lives'), 'j_9lives');
    assert.ok(schemaName('x'.repeat(100)).length <= 63);
  });
}

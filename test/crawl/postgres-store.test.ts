// PostgresCrawlStore in process: several Crawlers on one frontier, against the real PostgreSQL.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Crawler } from '../../src/crawl/crawler.ts';
import { PostgresCrawlStore } from '../../src/crawl/postgres-store.ts';
import { startLab } from '../../src/lab/index.ts';
import { PgSqlClient } from '../../src/store/sql-client.ts';
import { dropSchemas, PG_URL, postgresMissing, testSchema } from '../helpers/postgres.ts';

const missing = await postgresMissing();
if (missing !== undefined) {
  test(missing, { skip: true }, () => {});
} else {
  const client = new PgSqlClient(PG_URL, { max: 8 });
  const schemas: string[] = [];
  after(async () => {
    await dropSchemas(schemas);
    await client.close();
  });

  test('PostgresCrawlStore - maxPages holds for every worker together, not per worker', async () => {
    await using lab = await startLab({ seed: 5, site: { pages: 150 } });
    const schema = testSchema('spate_crawl_cap');
    schemas.push(schema);
    const seeds = [`${lab.url}/site/pages=150,extras=0/`];
    const stores = await Promise.all(['a', 'b', 'c'].map((worker) => PostgresCrawlStore.open({ client, schema, worker, pollMs: 10 })));
    const summaries = await Promise.all(stores.map((store) => new Crawler({ seeds, store, maxPages: 25, concurrency: 4 }).run()));
    const counts = await stores[0]!.counts();
    assert.equal(counts.done + counts.failed, 25, 'pages fetched by all three');
    assert.equal(counts.inFlight, 0);
    assert.ok(counts.queued > 0, 'the frontier had more to give');
    for (const s of summaries) assert.equal(s.interrupted, false);
    for (const store of stores) await store.close();
  });
}

// One conformance suite for every PipelineStore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadLetter, MemoryPipelineStore, type PipelineStore, PostgresPipelineStore, SqlitePipelineStore } from '../../src/pipeline/index.ts';
import { PgSqlClient } from '../../src/store/sql-client.ts';
import { dropSchemas, PG_URL, postgresMissing, testSchema } from '../helpers/postgres.ts';

type Make = (t: { after(fn: () => void | Promise<void>): void; skip(message: string): void }) => PipelineStore | Promise<PipelineStore | undefined>;

const pgMissing = await postgresMissing();

const backends: [string, Make][] = [
  ['memory', () => new MemoryPipelineStore()],
  ['sqlite', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'spate-pipeline-store-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return SqlitePipelineStore.open(join(dir, 'state.sqlite'));
  }],
  ['postgres', async (t) => {
    if (pgMissing) return void t.skip(pgMissing);
    const schema = testSchema('spate_pipeline_test');
    t.after(() => dropSchemas([schema]));
    // a small page, so rows() takes several
    return PostgresPipelineStore.open({ url: PG_URL, schema, batchSize: 2 });
  }],
];

for (const [name, make] of backends) {
  test(`${name} store - keeps what it is given: U+0000 in strings, key order`, async (t) => {
    const store = await make(t);
    if (store === undefined) return;
    const item = { z: 'a\u0000b', a: 1 };
    await store.addDeadLetter('nul', deadLetter(item, 's', new Error('x\u0000y'), 1, 1));
    const [letter] = await store.listDeadLetters('nul');
    assert.deepEqual(letter!.item, item);
    assert.deepEqual(Object.keys(letter!.item as object), ['z', 'a']);
    await store.upsert('nul', 'k', item);
    const rows = [];
    for await (const row of store.rows('nul')) rows.push(row);
    assert.deepEqual(rows, [{ key: 'k', value: item }]);
    await store.close();
  });

  test(`${name} store - checkpoints per pipeline`, async (t) => {
    const store = await make(t);
    if (!store) return;
    assert.equal(await store.getCheckpoint('a'), undefined);
    await store.setCheckpoint('a', 10);
    await store.setCheckpoint('a', 20);
    await store.setCheckpoint('b', 1);
    assert.equal(await store.getCheckpoint('a'), 20);
    assert.equal(await store.getCheckpoint('b'), 1);
    await store.close();
  });

  test(`${name} store - dead letters: add, list by stage, replace by key, remove`, async (t) => {
    const store = await make(t);
    if (!store) return;
    const e = Object.assign(new Error('x'), { code: 'E1' });
    const id1 = await store.addDeadLetter('p', deadLetter({ n: 1 }, 's1', e, 3, 1000, '1'));
    await store.addDeadLetter('p', deadLetter({ n: 2 }, 's2', 'plain', 1, 2000));
    const id3 = await store.addDeadLetter('p', deadLetter({ n: 1, again: true }, 's1', e, 4, 3000, '1'));
    assert.notEqual(id1, id3);
    const all = await store.listDeadLetters('p');
    assert.equal(all.length, 2);
    const s1 = await store.listDeadLetters('p', { stage: 's1' });
    assert.deepEqual(s1.map((l) => [l.item, l.attempts, l.error, l.key]), [[{ n: 1, again: true }, 4, { name: 'Error', message: 'x', code: 'E1' }, '1']]);
    assert.deepEqual((await store.listDeadLetters('p', { stage: 's2' }))[0]!.error, { name: 'NonError', message: 'plain' });
    assert.equal((await store.listDeadLetters('p', { limit: 1 })).length, 1);
    assert.equal(await store.removeDeadLetters('p', [id3]), 1);
    assert.equal(await store.removeDeadLetters('p'), 1);
    assert.deepEqual(await store.listDeadLetters('p'), []);
    await store.close();
  });

  test(`${name} store - keyed rows upsert and come back in key order; reset forgets everything`, async (t) => {
    const store = await make(t);
    if (!store) return;
    await store.upsert('p', 'b', { v: 1 });
    await store.upsert('p', 'a', { v: 2 });
    await store.upsert('p', 'b', { v: 3 });
    const rows: unknown[] = [];
    for await (const row of store.rows('p')) rows.push(row);
    assert.deepEqual(rows, [{ key: 'a', value: { v: 2 } }, { key: 'b', value: { v: 3 } }]);
    await store.setCheckpoint('p', 5);
    await store.reset('p');
    assert.equal(await store.getCheckpoint('p'), undefined);
    for await (const _ of store.rows('p')) assert.fail('rows left after reset');
    await store.close();
  });

  test(`${name} store - a replaced dead letter lists last; rows in byte order across pages`, async (t) => {
    const store = await make(t);
    if (!store) return;
    await store.addDeadLetter('p', deadLetter('a', 's', 'x', 1, 1, 'k'));
    await store.addDeadLetter('p', deadLetter('b', 's', 'x', 1, 2));
    await store.addDeadLetter('p', deadLetter('a2', 's', 'x', 1, 3, 'k'));
    assert.deepEqual((await store.listDeadLetters('p')).map((l) => l.item), ['b', 'a2']);
    const keys = ['z', 'é', '10', 'B', '9', 'a', 'aa'];
    for (const key of keys) await store.upsert('p', key, key.length);
    await store.upsert('q', 'b', 0);
    const got: string[] = [];
    for await (const row of store.rows('p')) got.push(row.key);
    assert.deepEqual(got, ['10', '9', 'B', 'a', 'aa', 'z', 'é']);
    await store.close();
  });
}

test('postgres store - opened at once by several processes\' clients; a shared client stays open; a concurrent replace keeps one letter', async (t) => {
  if (pgMissing) return void t.skip(pgMissing);
  const schema = testSchema('spate_pipeline_test');
  t.after(() => dropSchemas([schema]));
  const clients = Array.from({ length: 4 }, () => new PgSqlClient(PG_URL));
  t.after(() => Promise.all(clients.map((c) => c.close())));
  const stores = await Promise.all(clients.map((client) => PostgresPipelineStore.open({ client, schema })));
  await Promise.all(stores.map((s, i) => s.addDeadLetter('p', deadLetter(i, 's', new Error(`e${i}`), 1, i, 'k'))));
  const letters = await stores[0]!.listDeadLetters('p');
  assert.equal(letters.length, 1);
  for (const s of stores) await s.close();
  assert.deepEqual((await clients[0]!.query('select 1 as one')).rows, [{ one: 1 }]);
});

test('postgres store - options are checked', async () => {
  await assert.rejects(PostgresPipelineStore.open({ url: PG_URL, schema: 'Bad-Name' }), /schema/);
  await assert.rejects(PostgresPipelineStore.open({ schema: 'ok' }), /exactly one of `url` and `client`/);
  await assert.rejects(PostgresPipelineStore.open({ url: PG_URL, batchSize: 0 }), /batchSize/);
});

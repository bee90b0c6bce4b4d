// One conformance suite for every PipelineStore.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deadLetter, MemoryPipelineStore, type PipelineStore, SqlitePipelineStore } from '../../src/pipeline/index.ts';

const backends: [string, (t: { after(fn: () => void): void }) => PipelineStore][] = [
  ['memory', () => new MemoryPipelineStore()],
  ['sqlite', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'spate-pipeline-store-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    return SqlitePipelineStore.open(join(dir, 'state.sqlite'));
  }],
];

for (const [name, make] of backends) {
  test(`${name} store - checkpoints per pipeline`, async (t) => {
    const store = make(t);
    assert.equal(await store.getCheckpoint('a'), undefined);
    await store.setCheckpoint('a', 10);
    await store.setCheckpoint('a', 20);
    await store.setCheckpoint('b', 1);
    assert.equal(await store.getCheckpoint('a'), 20);
    assert.equal(await store.getCheckpoint('b'), 1);
    await store.close();
  });

  test(`${name} store - dead letters: add, list by stage, replace by key, remove`, async (t) => {
    const store = make(t);
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
    const store = make(t);
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
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { SqliteDb } from '../../src/store/sqlite.ts';
import { ClosedError } from '../../src/core/errors.ts';

const migrations = ['create table kv (k text primary key, v text)', 'alter table kv add column n integer default 0'];

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'spate-sqlite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('SqliteDb - runs migrations once and records the version', (t) => {
  const path = join(tempDir(t), 'a.sqlite');
  SqliteDb.open(path, { migrations }).close();
  using db = SqliteDb.open(path, { migrations });
  assert.equal(db.get<{ user_version: number }>('PRAGMA user_version')!.user_version, 2);
  db.run('insert into kv (k, v, n) values (?, ?, ?)', 'a', 'b', 1);
  assert.deepEqual({ ...db.get('select * from kv')! }, { k: 'a', v: 'b', n: 1 });
});

test('SqliteDb - refuses a file from a newer schema', (t) => {
  const path = join(tempDir(t), 'b.sqlite');
  SqliteDb.open(path, { migrations }).close();
  assert.throws(() => SqliteDb.open(path, { migrations: migrations.slice(0, 1) }), /schema version 2, newer/);
});

test('SqliteDb - a failed transaction leaves nothing behind; nested ones roll back alone', () => {
  using db = SqliteDb.open(':memory:', { migrations });
  assert.throws(() => db.transaction(() => {
    db.run('insert into kv (k) values (?)', 'x');
    throw new Error('boom');
  }), /boom/);
  assert.equal(db.all('select * from kv').length, 0);
  db.transaction(() => {
    db.run('insert into kv (k) values (?)', 'outer');
    assert.throws(() => db.transaction(() => {
      db.run('insert into kv (k) values (?)', 'inner');
      throw new Error('inner fails');
    }));
  });
  assert.deepEqual(db.all<{ k: string }>('select k from kv').map((r) => r.k), ['outer']);
});

test('SqliteDb - a transaction must not span an await', () => {
  using db = SqliteDb.open(':memory:', { migrations });
  assert.throws(() => db.transaction((async () => {}) as () => unknown), /synchronous function/);
  assert.equal(db.all('select * from kv').length, 0);
});

test('SqliteDb - committed rows survive SIGKILL of the writing process', (t) => {
  const path = join(tempDir(t), 'c.sqlite');
  const script = `
    import { SqliteDb } from ${JSON.stringify(new URL('../../src/store/sqlite.ts', import.meta.url).href)};
    const db = SqliteDb.open(${JSON.stringify(path)}, { migrations: ${JSON.stringify(migrations)} });
    for (let i = 0; i < 100; i++) db.transaction(() => db.run('insert into kv (k) values (?)', 'k' + i));
    db.db.exec('BEGIN');
    db.run('insert into kv (k) values (?)', 'uncommitted');
    process.kill(process.pid, 'SIGKILL');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(r.signal, 'SIGKILL');
  using db = SqliteDb.open(path, { migrations });
  assert.equal(db.all('select * from kv').length, 100);
});

test('SqliteDb - calls after close throw ClosedError', () => {
  const db = SqliteDb.open(':memory:');
  db.close();
  db.close();
  assert.throws(() => db.all('select 1'), ClosedError);
});

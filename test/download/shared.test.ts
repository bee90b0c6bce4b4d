import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSharedDownload } from '../../src/download/shared.ts';
import type { ListItem } from '../../src/download/list.ts';
import { startLab } from '../../src/lab/index.ts';
import { PostgresWorkQueue } from '../../src/store/postgres-queue.ts';
import { PgSqlClient } from '../../src/store/sql-client.ts';
import { dropSchemas, PG_URL, postgresMissing, testSchema } from '../helpers/postgres.ts';

const missing = await postgresMissing();
if (missing !== undefined) {
  test(missing, { skip: true }, () => {});
} else {
  const client = new PgSqlClient(PG_URL, { max: 8 });
  const dir = mkdtempSync(join(tmpdir(), 'spate-shared-dl-'));
  const schemas: string[] = [];
  after(async () => {
    await dropSchemas(schemas);
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const files = (d: string) => readdirSync(d).filter((f) => !f.startsWith('.')).sort();

  test('runSharedDownload - two workers and one that dies holding a batch: each file placed by exactly one worker', async () => {
    await using lab = await startLab({ seed: 3 });
    const schema = testSchema('spate_dl');
    schemas.push(schema);
    const list: ListItem[] = Array.from({ length: 40 }, (_, i) => ({ url: `${lab.url}/files/f${i}.bin?size=${1000 + i}`, name: `f${i}.bin`, line: i + 1 }));
    // A worker that claims a batch and dies: its queue stops renewing, the lease runs out.
    const dead = await PostgresWorkQueue.open(client, { schema, owner: 'dead', leaseMs: 300 });
    await dead.add(list.map((e) => ({ key: e.url, payload: JSON.stringify({ line: e.line, name: e.name }) })));
    const lost = await dead.claim(7);
    assert.equal(lost.length, 7);
    await dead.close();
    const queues = await Promise.all(['a', 'b'].map((owner) => PostgresWorkQueue.open(client, { schema, owner })));
    const outs = ['a', 'b'].map((o) => join(dir, o));
    const summaries = await Promise.all(queues.map((queue, i) => runSharedDownload(list, { queue, out: outs[i]!, concurrency: 4, batch: 5, pollMs: 20 })));
    const placed = outs.map(files);
    assert.equal(placed[0]!.length + placed[1]!.length, 40, 'no file twice');
    assert.deepEqual([...placed[0]!, ...placed[1]!].sort(), list.map((e) => e.name).sort());
    assert.ok(placed[0]!.length > 0 && placed[1]!.length > 0, 'both took a share');
    assert.equal(summaries[0]!.done + summaries[1]!.done, 40);
    assert.deepEqual([summaries[0]!.jobFinished, summaries[0]!.jobTotal], [40, 40]);
    const outputs = await queues[0]!.outputs(0, 100);
    assert.equal(outputs.length, 40);
    assert.equal(new Set(outputs.map((o) => o.key)).size, 40);
    // The dead worker's late completion is refused.
    const late = await queues[0]!.commit({ settle: [{ id: lost[0]!.id, lease: lost[0]!.lease, kind: 'complete', outcome: 'done', output: '{}' }] });
    assert.deepEqual(late.refused, [lost[0]!.id]);
    for (const q of queues) await q.close();
  });

  test('spate download --state postgres:// - two processes on one list: each file in exactly one directory', async () => {
    await using lab = await startLab({ seed: 4 });
    const job = testSchema('spate_dl_cli');
    schemas.push(job);
    const listPath = join(dir, 'list.txt');
    writeFileSync(listPath, Array.from({ length: 30 }, (_, i) => `${lab.url}/files/g${i}.bin?size=${20_000 + i}\tg${i}.bin`).join('\n'));
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    const run = (out: string) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [main, 'download', listPath, '-d', out, '--state', PG_URL, '--job', job, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    const outs = [join(dir, 'c1'), join(dir, 'c2')];
    const results = await Promise.all(outs.map(run));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const placed = outs.map(files);
    assert.equal(placed[0]!.length + placed[1]!.length, 30);
    assert.equal(new Set([...placed[0]!, ...placed[1]!]).size, 30);
    const last = JSON.parse(results[0]!.stdout.trim().split('\n').at(-1)!) as { summary: { jobFinished: number; jobTotal: number } };
    assert.deepEqual([last.summary.jobFinished, last.summary.jobTotal], [30, 30]);
  });
}

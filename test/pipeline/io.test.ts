import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from '../../src/http/index.ts';
import { startLab } from '../../src/lab/index.ts';
import { httpLines, jsonlFile, lines, linesFile, pipeline, splitLines, webTransform } from '../../src/pipeline/index.ts';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'spate-pipeline-io-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('lines - splits across chunk boundaries, strips \\r, keeps a last line without \\n, decodes UTF-8 split mid-character', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'in.txt');
  const text = 'alpha\r\nβeta\n\ngamma é\nlast';
  writeFileSync(path, text);
  const got: string[] = [];
  for await (const line of lines(path, { highWaterMark: 3 })) got.push(line);
  assert.deepEqual(got, ['alpha', 'βeta', '', 'gamma é', 'last']);
  const split: string[] = [];
  for await (const line of splitLines([Buffer.from([0xce]), Buffer.from([0xb2, 0x0a, 0x61])])) split.push(line);
  assert.deepEqual(split, ['β', 'a']);
});

test('linesFile / jsonlFile - the output appears whole on success and not at all on failure', async (t) => {
  const dir = tempDir(t);
  const ok = join(dir, 'ok.jsonl');
  await pipeline(Array.from({ length: 5000 }, (_, i) => i)).map((x) => ({ x }), { ordered: true }).into(jsonlFile(ok, { chunkSize: 100 }));
  const rows = readFileSync(ok, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { x: number });
  assert.deepEqual(rows.map((r) => r.x), Array.from({ length: 5000 }, (_, i) => i));

  const bad = join(dir, 'bad.txt');
  await assert.rejects(
    pipeline([1, 2, 3]).map((x) => { if (x === 3) throw new Error('late failure'); return x; }, { onError: 'fail-fast' }).into(linesFile(bad)),
    /late failure/,
  );
  assert.equal(existsSync(bad), false);
  assert.deepEqual(readdirSync(dir).sort(), ['ok.jsonl']);
});

test('lines → map → linesFile: a 200,000-line file comes out whole and in order', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'big.txt');
  writeFileSync(path, Array.from({ length: 200_000 }, (_, i) => `line ${i}`).join('\n'));
  const out = join(dir, 'out.txt');
  const result = await pipeline(lines(path)).map((l) => l.toUpperCase()).into(linesFile(out));
  assert.equal(result.read, 200_000);
  const text = readFileSync(out, 'utf8');
  assert.ok(text.startsWith('LINE 0\nLINE 1\n'));
  assert.equal(text.split('\n').length - 1, 200_000);
});

test('httpLines - reads a response body line by line through a Session', async () => {
  await using lab = await startLab({ port: 0 });
  const session = new Session();
  try {
    const got: string[] = [];
    await pipeline(httpLines(session, `${lab.url}/robots.txt`)).filter((l) => l.trim() !== '').sink((l) => { got.push(l); }).run();
    assert.ok(got.some((l) => /user-agent/i.test(l)), got.join('|'));
  } finally {
    await session.close();
  }
});

test('webTransform - a pipeline as a web { writable, readable } pair for pipeThrough', async () => {
  const out: number[] = [];
  const piped = ReadableStream.from([1, 2, 3]).pipeThrough(webTransform((src: AsyncIterable<number>) => pipeline(src).map((x) => x * 3, { ordered: true })));
  for await (const x of piped) out.push(x);
  assert.deepEqual(out, [3, 6, 9]);
});

test('splitLines - any text cut into any chunks gives the same lines (seeded random cases)', async () => {
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const alphabet = ['a', 'b', '\n', '\r', '\r\n', 'é', '€', '𝄞', ' '];
  for (let round = 0; round < 200; round++) {
    let text = '';
    for (let i = rand(60); i > 0; i--) text += alphabet[rand(alphabet.length)];
    const bytes = Buffer.from(text);
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length;) {
      const size = 1 + rand(7);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    const expected = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
    if (text.endsWith('\n') || text === '') expected.pop();
    const got: string[] = [];
    for await (const line of splitLines(chunks)) got.push(line);
    assert.deepEqual(got, expected, JSON.stringify(text));
  }
});

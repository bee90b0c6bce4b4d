import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { startLab, fileBytes, dispositionFor, DEFAULT_FILE_SIZE, type Lab } from '../../src/lab/index.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { client } from './helpers.ts';

const { get, agent } = client();
let lab: Lab;

before(async () => {
  lab = await startLab({ seed: 4 });
});
after(async () => {
  await agent.close();
  await lab.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('/files/<name> - deterministic content from (seed, name), default size 1 MiB', async () => {
  const r = await get(`${lab.url}/files/report.bin`);
  assert.equal(r.status, 200);
  assert.equal(r.body.length, DEFAULT_FILE_SIZE);
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(r.body, fileBytes(4, 'report.bin', 0, DEFAULT_FILE_SIZE));
  const other = await get(`${lab.url}/files/other.bin?size=1000`);
  assert.notDeepEqual(other.body, r.body.subarray(0, 1000));
  assert.deepEqual((await get(`${lab.url}/files/dir/a%20b.txt?size=10`)).body, fileBytes(4, 'dir/a b.txt', 0, 10));
});

test('/files - a large file streams under backpressure with the right bytes', async () => {
  const size = 8 * 1024 * 1024 + 3;
  const r = await get(`${lab.url}/files/big.iso?size=${size}`);
  assert.equal(r.body.length, size);
  assert.equal(sha(r.body), sha(fileBytes(4, 'big.iso', 0, size)));
});

test('/files - size=0, bad size and empty name', async () => {
  assert.equal((await get(`${lab.url}/files/empty?size=0`)).body.length, 0);
  assert.equal((await get(`${lab.url}/files/x?size=-1`)).status, 400);
  assert.equal((await get(`${lab.url}/files/x?size=abc`)).status, 400);
  assert.equal((await get(`${lab.url}/files/`)).status, 404);
});

test('Range - a single range gives 206 with Content-Range; open and suffix ranges too', async () => {
  const url = `${lab.url}/files/r.bin?size=10000`;
  const full = fileBytes(4, 'r.bin', 0, 10_000);
  const a = await get(url, { headers: { range: 'bytes=100-199' } });
  assert.equal(a.status, 206);
  assert.equal(a.headers['content-range'], 'bytes 100-199/10000');
  assert.equal(a.headers['content-length'], '100');
  assert.deepEqual(a.body, full.subarray(100, 200));
  const b = await get(url, { headers: { range: 'bytes=9990-' } });
  assert.deepEqual(b.body, full.subarray(9990));
  const c = await get(url, { headers: { range: 'bytes=-5' } });
  assert.equal(c.headers['content-range'], 'bytes 9995-9999/10000');
  assert.deepEqual(c.body, full.subarray(9995));
  const d = await get(url, { headers: { range: 'bytes=9000-20000' } });
  assert.equal(d.headers['content-range'], 'bytes 9000-9999/10000');
});

test('Range - unsatisfiable is 416 with bytes */size; several ranges or garbage get the whole file', async () => {
  const url = `${lab.url}/files/r.bin?size=10000`;
  const u = await get(url, { headers: { range: 'bytes=10000-' } });
  assert.equal(u.status, 416);
  assert.equal(u.headers['content-range'], 'bytes */10000');
  assert.equal((await get(url, { headers: { range: 'bytes=0-1,5-6' } })).status, 200);
  assert.equal((await get(url, { headers: { range: 'lines=1-2' } })).status, 200);
  assert.equal((await get(url, { headers: { range: 'bytes=5-1' } })).status, 200);
});

test('norange=1 - Range is ignored and Accept-Ranges is absent', async () => {
  const r = await get(`${lab.url}/files/r.bin?size=1000&norange=1`, { headers: { range: 'bytes=10-19' } });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 1000);
  assert.equal(r.headers['accept-ranges'], undefined);
});

test('ETag and Last-Modified - stable; version= changes them and the content', async () => {
  const a = await get(`${lab.url}/files/v.bin?size=100`);
  const a2 = await get(`${lab.url}/files/v.bin?size=100`);
  const b = await get(`${lab.url}/files/v.bin?size=100&version=2`);
  assert.match(String(a.headers.etag), /^"[0-9a-f]+-64"$/);
  assert.equal(a.headers.etag, a2.headers.etag);
  assert.ok(!Number.isNaN(Date.parse(String(a.headers['last-modified']))));
  assert.notEqual(a.headers.etag, b.headers.etag);
  assert.notEqual(a.headers['last-modified'], b.headers['last-modified']);
  assert.notDeepEqual(a.body, b.body);
  assert.deepEqual(b.body, fileBytes(4, 'v.bin', 0, 100, '2'));
});

test('If-Range - honoured when the ETag or date matches, else the whole new file', async () => {
  const url = `${lab.url}/files/ir.bin?size=1000`;
  const head = await get(url, { method: 'HEAD' });
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['content-length'], '1000');
  const etag = String(head.headers.etag);
  const lm = String(head.headers['last-modified']);
  const byTag = await get(url, { headers: { range: 'bytes=500-', 'if-range': etag } });
  assert.equal(byTag.status, 206);
  assert.equal(byTag.body.length, 500);
  const byDate = await get(url, { headers: { range: 'bytes=500-', 'if-range': lm } });
  assert.equal(byDate.status, 206);
  const changed = await get(`${url}&version=9`, { headers: { range: 'bytes=500-', 'if-range': etag } });
  assert.equal(changed.status, 200);
  assert.equal(changed.body.length, 1000);
  const oldDate = await get(`${url}&version=9`, { headers: { range: 'bytes=500-', 'if-range': lm } });
  assert.equal(oldDate.status, 200);
});

test('If-None-Match - 304 when the ETag matches', async () => {
  const url = `${lab.url}/files/inm.bin?size=10`;
  const etag = String((await get(url)).headers.etag);
  const r = await get(url, { headers: { 'if-none-match': etag } });
  assert.equal(r.status, 304);
  assert.equal(r.body.length, 0);
  assert.equal((await get(url, { headers: { 'if-none-match': '"nope"' } })).status, 200);
});

test('Content-Disposition - hostile names are served as-is (the downloader must sanitise)', async () => {
  const names = ['../../etc/passwd', '/etc/passwd', '..\\..\\windows\\system32', 'CON', 'a"b.txt', 'ünïcode ✓.bin', 'line\r\nbreak', '.hidden', ''];
  for (const name of names) {
    const r = await get(`${lab.url}/files/x?size=1&disposition=${encodeURIComponent(name)}`);
    assert.equal(r.status, 200, name);
    const cd = String(r.headers['content-disposition']);
    assert.equal(cd, dispositionFor(name));
    const star = /filename\*=UTF-8''(.+)$/.exec(cd)?.[1];
    const plain = /filename="((?:[^"\\]|\\.)*)"/.exec(cd)?.[1]?.replace(/\\(.)/g, '$1');
    assert.equal(star === undefined ? plain : decodeURIComponent(star), name, name);
  }
  const raw = await get(`${lab.url}/files/x?size=1&cd=${encodeURIComponent('attachment; filename=/etc/shadow')}`);
  assert.equal(raw.headers['content-disposition'], 'attachment; filename=/etc/shadow');
  assert.equal((await get(`${lab.url}/files/x?size=1&cd=${encodeURIComponent('a\r\nb')}`)).status, 400);
});

test('fail_at=N - dies after N bytes of each response; resuming with Range makes progress', async () => {
  const size = 3000;
  const full = fileBytes(4, 'f.bin', 0, size);
  const got: Buffer[] = [];
  let attempts = 0;
  while (Buffer.concat(got).length < size && attempts < 10) {
    attempts++;
    const offset = Buffer.concat(got).length;
    const res = await request(`${lab.url}/files/f.bin?size=${size}&fail_at=1000`, {
      dispatcher: agent,
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    });
    try {
      for await (const chunk of res.body) got.push(chunk as Buffer);
    } catch (error) {
      assert.equal((error as { code?: string }).code, 'UND_ERR_SOCKET');
    }
  }
  assert.equal(attempts, 3);
  assert.deepEqual(Buffer.concat(got), full);
});

test('rate=B/s - a file is throttled on the clock', async () => {
  const clock = new VirtualClock();
  await using vlab = await startLab({ clock, seed: 4 });
  const r = await clock.run(get(`${vlab.url}/files/slow.bin?size=5000&rate=10000`));
  assert.deepEqual(r.body, fileBytes(4, 'slow.bin', 0, 5000));
  // 1000-byte blocks every 100 ms: the 5th goes out at 400 ms.
  assert.equal(clock.now(), 400);
});

test('/files - only GET and HEAD', async () => {
  assert.equal((await get(`${lab.url}/files/x`, { method: 'POST', body: 'x' })).status, 405);
});

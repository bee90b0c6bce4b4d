// The downloader against servers that lie and output folders that were tampered with: a file ends
// byte-identical to the truth or failed, never damaged and done; retries stay bounded; nothing
// is written through a symbolic link; spate's own files are never a download's name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileBytes, startLab } from '../../src/lab/index.ts';
import { Session } from '../../src/http/index.ts';
import { Downloader, PARTIAL_DIR, STATE_FILE, type DownloaderOptions, type DownloadResult } from '../../src/download/downloader.ts';
import type { ListEntry } from '../../src/download/list.ts';

type Lab = Awaited<ReturnType<typeof startLab>>;
let lab: Lab;
const dirs: string[] = [];

before(async () => {
  lab = await startLab({ seed: 1 });
});
after(async () => {
  await lab.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'spate-dli-'));
  dirs.push(d);
  return d;
}

const fast = { backoff: () => 1 } satisfies Partial<DownloaderOptions>;

async function download(out: string, items: ListEntry[], options: Partial<DownloaderOptions> = {}) {
  const results: DownloadResult[] = [];
  const dl = new Downloader({ out, ...fast, ...options, onProgress: (r) => results.push(r) });
  try {
    const summary = await dl.run(items);
    return { summary, results, records: [...dl.results()] };
  } finally {
    await dl.close();
  }
}

/** A server whose every answer the test writes; counts requests and body bytes sent. */
async function liar(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const stats = { requests: 0, bytes: 0 };
  const server = createHttpServer((req, res) => {
    stats.requests++;
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer, ...rest: never[]) => {
      stats.bytes += chunk.length;
      return write(chunk, ...rest);
    }) as typeof res.write;
    handler(req, res, n++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Writes `body`, then (when `cut` is given) destroys the socket after `cut` bytes. */
function sendBody(res: ServerResponse, body: Buffer, cut?: number): void {
  if (cut === undefined) {
    res.end(body);
    return;
  }
  res.write(body.subarray(0, cut), () => res.destroy());
}

const SIZE = 1_000_000;
const truth = fileBytes(7, 'truth.bin', 0, SIZE);
const other = fileBytes(8, 'other.bin', 0, SIZE);

/** The file is the truth when done; otherwise failed. Never damaged and done. */
function assertIntact(out: string, r: DownloadResult, expected: Buffer): void {
  if (r.status === 'done') assert.ok(readFileSync(join(out, r.name)).equals(expected), `${r.name} is done but damaged`);
  else assert.equal(r.status, 'failed');
}

test('retries - a server that ignores Range and always cuts the body fails within a byte budget', async () => {
  const out = tmp();
  const session = new Session({ retry: false, breaker: false, decompress: false });
  try {
    const { records } = await download(out, [{ url: `${lab.url}/files/loop.bin?size=${SIZE}&norange=1&short=1&key=loop` }], { session, retries: 2, fileTimeoutMs: 15_000 });
    assert.equal(records[0]!.status, 'failed');
    assert.doesNotMatch(records[0]!.error!, /timeout/);
    const received = session.metrics()[0]!.bytes;
    assert.ok(received <= 4 * SIZE, `received ${received}`);
    assert.ok(records[0]!.attempts <= 8, `attempts ${records[0]!.attempts}`);
  } finally {
    await session.close();
  }
});

test('retries - restarts from 0 that keep reaching further still finish', async () => {
  const out = tmp();
  // No ranges, and each answer is cut a bit further along than the one before.
  const server = await liar((_req, res, n) => {
    res.writeHead(200, { 'content-length': SIZE, etag: '"t"' });
    sendBody(res, truth, n < 3 ? 300_000 * (n + 1) : undefined);
  });
  try {
    const { records } = await download(out, [{ url: `${server.url}/f.bin` }], { retries: 1 });
    assert.equal(records[0]!.status, 'done');
    assertIntact(out, records[0]!, truth);
  } finally {
    await server.close();
  }
});

test('Content-Range - a 206 to a request without Range, starting mid-file, is not written at 0', async () => {
  const out = tmp();
  const server = await liar((req, res) => {
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    const start = range === null ? 500_000 : Number(range[1]);
    res.writeHead(206, { 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}`, 'content-length': SIZE - start, etag: '"t"' });
    sendBody(res, truth.subarray(start));
  });
  try {
    const { records } = await download(out, [{ url: `${server.url}/a.bin` }], { retries: 2 });
    assertIntact(out, records[0]!, truth);
  } finally {
    await server.close();
  }
});

test('Content-Range - a Content-Length that disagrees with Content-Range is refused', async () => {
  const out = tmp();
  const server = await liar((req, res) => {
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (range === null) {
      // Claims the whole file, carries only its second half.
      res.writeHead(206, { 'content-range': `bytes 0-${SIZE - 1}/${SIZE}`, 'content-length': SIZE / 2, etag: '"t"' });
      sendBody(res, truth.subarray(SIZE / 2));
      return;
    }
    const start = Number(range[1]);
    res.writeHead(206, { 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}`, 'content-length': SIZE - start, etag: '"t"' });
    sendBody(res, truth.subarray(start));
  });
  try {
    const { records } = await download(out, [{ url: `${server.url}/b.bin` }], { retries: 2 });
    assertIntact(out, records[0]!, truth);
  } finally {
    await server.close();
  }
});

test('Content-Range - a changed file whose 206 carries no validator is not spliced onto the old part', async () => {
  const out = tmp();
  const server = await liar((req, res, n) => {
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (n === 0) {
      res.writeHead(200, { 'content-length': SIZE, etag: '"old"' });
      sendBody(res, truth, 333_333);
    } else if (range !== null) {
      // Ignores If-Range, sends the new file's tail with no ETag or Last-Modified.
      const start = Number(range[1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}`, 'content-length': SIZE - start });
      sendBody(res, other.subarray(start));
    } else {
      res.writeHead(200, { 'content-length': SIZE, etag: '"new"' });
      sendBody(res, other);
    }
  });
  try {
    const { records } = await download(out, [{ url: `${server.url}/c.bin` }], { retries: 2 });
    assertIntact(out, records[0]!, other);
  } finally {
    await server.close();
  }
});

test('Content-Range - a 206 with the right start but another total under the same ETag is refused', async () => {
  const out = tmp();
  const bigger = fileBytes(9, 'bigger.bin', 0, SIZE + 200_000);
  const server = await liar((req, res, n) => {
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (n === 0) {
      res.writeHead(200, { 'content-length': SIZE, etag: '"same"' });
      sendBody(res, truth, 400_000);
    } else if (range !== null) {
      const start = Number(range[1]);
      res.writeHead(206, { 'content-range': `bytes ${start}-${bigger.length - 1}/${bigger.length}`, 'content-length': bigger.length - start, etag: '"same"' });
      sendBody(res, bigger.subarray(start));
    } else {
      res.writeHead(200, { 'content-length': bigger.length, etag: '"same"' });
      sendBody(res, bigger);
    }
  });
  try {
    const { records } = await download(out, [{ url: `${server.url}/d.bin` }], { retries: 2 });
    assertIntact(out, records[0]!, bigger);
  } finally {
    await server.close();
  }
});

/** A first run stopped after 400 kB (a part and its validators in the state), like Ctrl-C. */
async function pausedJob(out: string, name: string): Promise<string> {
  const url = `${lab.url}/files/${name}?size=${SIZE}&stall=30000&stall_at=400000&fault_first=1&key=${name}-${out}`;
  const controller = new AbortController();
  const dl = new Downloader({ out, ...fast, signal: controller.signal });
  const running = dl.run([{ url }]);
  const deadline = Date.now() + 10_000;
  while (dl.stats().bytes < 400_000) {
    if (Date.now() > deadline) throw new Error('the first run wrote nothing');
    await new Promise((r) => setTimeout(r, 5));
  }
  controller.abort(new Error('stop'));
  await assert.rejects(running, /stop/);
  await dl.close();
  return url;
}

test('symlinks - a part file that is a link is never written through on resume', async () => {
  const parent = tmp();
  const out = join(parent, 'out');
  const url = await pausedJob(out, 'p.bin');
  const victim = join(parent, 'victim');
  writeFileSync(victim, 'precious');
  const part = join(out, PARTIAL_DIR, '1.part');
  unlinkSync(part);
  symlinkSync(victim, part);
  const { records } = await download(out, [{ url }]);
  assert.equal(readFileSync(victim, 'utf8'), 'precious');
  const placed = join(out, 'p.bin');
  if (existsSync(placed)) assert.ok(!lstatSync(placed).isSymbolicLink(), 'the download is not a link');
  assertIntact(out, records[0]!, fileBytes(1, 'p.bin', 0, SIZE));
});

test('symlinks - a partial folder that is a link to elsewhere is refused', async () => {
  const parent = tmp();
  const out = join(parent, 'out');
  const elsewhere = join(parent, 'elsewhere');
  mkdirSync(out);
  mkdirSync(elsewhere);
  symlinkSync(elsewhere, join(out, PARTIAL_DIR));
  await assert.rejects(download(out, [{ url: `${lab.url}/files/q.bin?size=1000` }]), { code: 'SPATE_DOWNLOAD_UNSAFE_PATH' });
  assert.deepEqual(readdirSync(elsewhere), []);
});

test('symlinks - a state database that is a link is refused, with its -wal and -shm', async () => {
  for (const suffix of ['', '-wal', '-shm']) {
    const parent = tmp();
    const out = join(parent, 'out');
    mkdirSync(out);
    const elsewhere = join(parent, 'db');
    symlinkSync(elsewhere, join(out, STATE_FILE + suffix));
    await assert.rejects(download(out, [{ url: `${lab.url}/files/s.bin?size=1000` }]), { code: 'SPATE_DOWNLOAD_UNSAFE_PATH' }, suffix);
    assert.ok(!existsSync(elsewhere), `nothing written through ${STATE_FILE}${suffix}`);
  }
});

test('symlinks - a finished file replaced by a link is fetched again, not skipped', async () => {
  const parent = tmp();
  const out = join(parent, 'out');
  const url = `${lab.url}/files/done.bin?size=100`;
  await download(out, [{ url }]);
  const victim = join(parent, 'victim');
  writeFileSync(victim, 'x'.repeat(100));
  unlinkSync(join(out, 'done.bin'));
  symlinkSync(victim, join(out, 'done.bin'));
  const { records } = await download(out, [{ url }]);
  assert.equal(records[0]!.status, 'done');
  assert.ok(!lstatSync(join(out, 'done.bin')).isSymbolicLink());
  assert.ok(readFileSync(join(out, 'done.bin')).equals(fileBytes(1, 'done.bin', 0, 100)));
  assert.equal(readFileSync(victim, 'utf8'), 'x'.repeat(100));
});

test('reserved names - a download can never take the state database or the report as its name', async () => {
  const out = tmp();
  const statePath = join(out, 'job.sqlite');
  const report = join(out, 'report.json');
  const { records, summary } = await download(out, [
    { url: `${lab.url}/files/r1.bin?size=1000&disposition=job.sqlite` },
    { url: `${lab.url}/files/r2.bin?size=1000`, name: 'job.sqlite-wal' },
    { url: `${lab.url}/files/r3.bin?size=1000&disposition=report.json` },
  ], { statePath, reserved: [report] });
  assert.equal(summary.success, 3);
  const names = records.map((r) => r.name);
  for (const name of names) assert.ok(!['job.sqlite', 'job.sqlite-wal', 'job.sqlite-shm', 'report.json'].includes(name), name);
  // The state database is still a database, and still has the job.
  assert.equal(readFileSync(statePath).subarray(0, 15).toString(), 'SQLite format 3');
  const again = await download(out, [{ url: `${lab.url}/files/r1.bin?size=1000&disposition=job.sqlite` }], { statePath, reserved: [report] });
  assert.equal(again.records[0]!.status, 'skipped');
});

test('Content-Disposition - a raw control byte in the header fails the file with a clear error', async () => {
  const out = tmp();
  const server = createNetServer((socket) => {
    socket.once('data', () => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Disposition: attachment; filename="a\x01b.txt"\r\n\r\nhello');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const { records } = await download(out, [{ url: `http://127.0.0.1:${port}/x.bin` }], { retries: 1 });
    assert.equal(records[0]!.status, 'failed');
    assert.match(records[0]!.error!, /malformed|header/i);
    assert.doesNotMatch(records[0]!.error!, /UND_ERR_RES_CONTENT_LENGTH_MISMATCH/);
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('Content-Range - a body longer than its range (repeated bytes) leaves nothing of itself in the part', async () => {
  const out = tmp();
  const server = await liar((req, res, n) => {
    const range = /bytes=(\d+)-/.exec(req.headers.range ?? '');
    if (range === null) {
      res.writeHead(200, { 'content-length': SIZE, etag: '"t"' });
      sendBody(res, truth, 300_000);
      return;
    }
    const start = Number(range[1]);
    // No Content-Length (chunked): the range is stated honestly, the body starts 1000 bytes early.
    res.writeHead(206, { 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}`, etag: '"t"' });
    const body = truth.subarray(n === 1 ? start - 1000 : start);
    let at = 0;
    const pump = () => {
      while (at < body.length) {
        const ok = res.write(body.subarray(at, at + 16_384));
        at += 16_384;
        if (!ok) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  try {
    const { records } = await download(out, [{ url: `${server.url}/e.bin` }], { retries: 2 });
    assertIntact(out, records[0]!, truth);
  } finally {
    await server.close();
  }
});

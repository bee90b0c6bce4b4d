// The downloader against the lab (real sockets on 127.0.0.1, port 0) and a temporary directory.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileBytes, startLab } from '../../src/lab/index.ts';
import { Session } from '../../src/http/index.ts';
import { Downloader, PARTIAL_DIR, type DownloaderOptions, type DownloadResult } from '../../src/download/downloader.ts';
import { parseList, type ListEntry } from '../../src/download/list.ts';

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
  const d = mkdtempSync(join(tmpdir(), 'spate-dl-'));
  dirs.push(d);
  return d;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const fast = { backoff: () => 1 } satisfies Partial<DownloaderOptions>;

async function download(out: string, items: ListEntry[] | AsyncIterable<ListEntry>, options: Partial<DownloaderOptions> = {}) {
  const results: DownloadResult[] = [];
  const dl = new Downloader({ out, ...fast, ...options, onProgress: (r) => results.push(r) });
  try {
    const summary = await dl.run(items);
    return { summary, results, records: [...dl.results()], stats: dl.stats() };
  } finally {
    await dl.close();
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('run() - a batch of files arrives byte-identical, with the seeds\' totals', async () => {
  const out = tmp();
  const sizes = [0, 1, 1000, 65_536, 300_001, 1_048_576, 2_000_000, 77, 4096, 123_456];
  const items = sizes.map((size, i) => ({ url: `${lab.url}/files/batch/f${i}.bin?size=${size}`, line: i + 1 }));
  const { summary, records } = await download(out, items, { concurrency: 4 });
  assert.equal(summary.total, sizes.length);
  assert.equal(summary.success, sizes.length);
  assert.equal(summary.failed, 0);
  assert.equal(summary.totalBytes, sizes.reduce((a, b) => a + b, 0));
  for (const [i, size] of sizes.entries()) {
    const expected = fileBytes(1, `batch/f${i}.bin`, 0, size);
    const got = readFileSync(join(out, `f${i}.bin`));
    assert.ok(got.equals(expected), `f${i}.bin`);
    assert.equal(records[i]!.sha256, sha(expected));
    assert.equal(records[i]!.status, 'done');
  }
  assert.deepEqual(readdirSync(join(out, PARTIAL_DIR)), [], 'no part left');
});

test('run() - no partial file is ever visible under a final name', async () => {
  const out = tmp();
  mkdirSync(out, { recursive: true });
  const size = 1_048_576;
  const items = Array.from({ length: 6 }, (_, i) => ({ url: `${lab.url}/files/watch/w${i}.bin?size=${size}&rate=8000000&key=watch${i}` }));
  const seen: string[] = [];
  const bad: string[] = [];
  const check = (name: string) => {
    if (name.startsWith('.')) return;
    const path = join(out, name);
    let st;
    try {
      st = statSync(path);
    } catch {
      return;
    }
    seen.push(name);
    if (st.size !== size) bad.push(`${name}: ${st.size}`);
  };
  const watcher = watch(out, (_event, name) => name && check(name.toString()));
  let polling = true;
  const poll = (async () => {
    while (polling) {
      for (const name of readdirSync(out)) check(name);
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    const { summary } = await download(out, items, { concurrency: 6, perHost: 6 });
    assert.equal(summary.success, 6);
  } finally {
    polling = false;
    await poll;
    watcher.close();
  }
  assert.ok(seen.length >= 6, 'the directory was observed while files arrived');
  assert.deepEqual(bad, []);
});

test('run() - a transfer that breaks mid-body resumes with Range from the bytes written', async () => {
  const out = tmp();
  const size = 1_000_000;
  const session = new Session({ retry: false, breaker: false, decompress: false });
  try {
    const { summary, records } = await download(out, [{ url: `${lab.url}/files/broken.bin?size=${size}&fail_at=150000&key=broken` }], { session, retries: 2 });
    assert.equal(summary.success, 1);
    assert.ok(readFileSync(join(out, 'broken.bin')).equals(fileBytes(1, 'broken.bin', 0, size)));
    // Every response breaks after 150 kB, so only Range continuations can finish the file, and
    // they move forward every time (more attempts than `retries` allows without progress).
    assert.ok(records[0]!.attempts >= 7, `attempts ${records[0]!.attempts}`);
    const received = session.metrics()[0]!.bytes;
    // Bytes still buffered in the stream when it broke are lost and fetched again: some overhead.
    assert.ok(received >= size && received < size * 1.5, `received ${received}`);
  } finally {
    await session.close();
  }
});

test('run() - a server that ignores Range: the file starts over and is still right', async () => {
  const out = tmp();
  const size = 600_000;
  const session = new Session({ retry: false, breaker: false, decompress: false });
  try {
    const { summary, records } = await download(out, [{ url: `${lab.url}/files/norange.bin?size=${size}&norange=1&fail_at=250000&fault_first=1&key=norange` }], { session });
    assert.equal(summary.success, 1);
    assert.equal(records[0]!.attempts, 2);
    assert.ok(readFileSync(join(out, 'norange.bin')).equals(fileBytes(1, 'norange.bin', 0, size)));
    const received = session.metrics()[0]!.bytes;
    assert.ok(received > size, `the whole file came again after the break: ${received}`);
  } finally {
    await session.close();
  }
});

test('run() - a file that changed on the server (If-Range no longer matches) starts over', async () => {
  const out = tmp();
  const size = 700_000;
  const first = await startLab({ seed: 1 });
  const port = first.port;
  const url = `http://127.0.0.1:${port}/files/changing.bin?size=${size}&stall=30000&stall_at=300000&fault_first=1&key=changing`;
  try {
    const controller = new AbortController();
    const dl = new Downloader({ out, ...fast, signal: controller.signal });
    const running = dl.run([{ url }]);
    await until(() => dl.stats().bytes >= 300_000, '300 kB written');
    controller.abort(new Error('stop'));
    await assert.rejects(running, /stop/);
    await dl.close();
    assert.equal(statSync(join(out, PARTIAL_DIR, '1.part')).size, 300_000);
  } finally {
    await first.close();
  }
  // The same URL now serves other content (another seed): new ETag, new bytes.
  const second = await startLab({ seed: 2, port });
  try {
    // Spend the scope's one stalled request, so the resume is not stalled again.
    await (await fetch(`${second.url}/json?stall=1&fault_first=1&key=changing`)).text();
    const session = new Session({ retry: false, breaker: false, decompress: false });
    try {
      const run2 = await download(out, [{ url }], { session });
      assert.equal(run2.summary.success, 1);
      assert.ok(readFileSync(join(out, 'changing.bin')).equals(fileBytes(2, 'changing.bin', 0, size)));
      assert.equal(session.metrics()[0]!.bytes, size, 'the If-Range request got the whole new file');
    } finally {
      await session.close();
    }
  } finally {
    await second.close();
  }
});

test('run() - a checksum from the list is verified: a mismatch fails and places nothing', async () => {
  const out = tmp();
  const good = sha(fileBytes(1, 'sum/good.bin', 0, 5000));
  const { summary, records } = await download(out, [
    { url: `${lab.url}/files/sum/good.bin?size=5000`, sha256: good },
    { url: `${lab.url}/files/sum/bad.bin?size=5000`, sha256: 'f'.repeat(64) },
  ]);
  assert.equal(summary.success, 1);
  assert.equal(summary.failed, 1);
  assert.ok(existsSync(join(out, 'good.bin')));
  assert.ok(!existsSync(join(out, 'bad.bin')));
  assert.equal(records[1]!.status, 'failed');
  assert.match(records[1]!.error!, /sha256 mismatch/);
  assert.equal(records[1]!.attempts, 1, 'a wrong checksum is not retried');
  assert.deepEqual(readdirSync(join(out, PARTIAL_DIR)), []);
});

test('run() - hostile Content-Disposition and list names stay inside out', async () => {
  const parent = tmp();
  const out = join(parent, 'out');
  const hostile = ['../../escape.txt', '/etc/passwd', 'CON', 'a"b.txt', '..\\..\\win.ini', '\u0001\u001bevil\u007f', '\u202Etxt.exe', '..', 'x'.repeat(400)];
  const items: ListEntry[] = hostile.map((name, i) => ({ url: `${lab.url}/files/h${i}.bin?size=10&disposition=${encodeURIComponent(name)}` }));
  items.push({ url: `${lab.url}/files/listed.bin?size=10`, name: '../../../listed-escape' });
  const { summary, records } = await download(out, items);
  assert.equal(summary.success, items.length);
  assert.deepEqual(readdirSync(parent), ['out'], 'nothing written beside out');
  const base = resolve(out) + sep;
  for (const r of records) {
    const full = resolve(out, r.name);
    assert.ok(full.startsWith(base) && !r.name.includes('/') && !r.name.includes('\\'), r.name);
    assert.ok(existsSync(full), r.name);
  }
  assert.deepEqual(records.slice(0, 4).map((r) => r.name), ['escape.txt', 'passwd', '_CON', 'a_b.txt']);
  assert.equal(records.at(-1)!.name, 'listed-escape');
});

test('run() - an aborted run keeps its parts, and the next run continues them with Range', async () => {
  const out = tmp();
  const size = 1_000_000;
  const url = `${lab.url}/files/paused.bin?size=${size}&stall=30000&stall_at=400000&fault_first=1&key=paused`;
  const controller = new AbortController();
  const dl = new Downloader({ out, ...fast, signal: controller.signal });
  const running = dl.run([{ url }]);
  await until(() => dl.stats().bytes >= 400_000, '400 kB written');
  const reason = new Error('stop');
  controller.abort(reason);
  await assert.rejects(running, reason);
  await dl.close();
  assert.ok(!existsSync(join(out, 'paused.bin')));
  assert.equal(statSync(join(out, PARTIAL_DIR, '1.part')).size, 400_000);

  const { summary } = await download(out, [{ url }]);
  assert.equal(summary.success, 1);
  assert.equal(summary.bytesTransferred, size - 400_000, 'only the rest was fetched');
  assert.ok(readFileSync(join(out, 'paused.bin')).equals(fileBytes(1, 'paused.bin', 0, size)));
});

test('run() - on resume complete files are skipped and vanished ones fetched again; names are stable', async () => {
  const out = tmp();
  const items = [
    { url: `${lab.url}/files/x/same.bin?size=100` },
    { url: `${lab.url}/files/y/same.bin?size=200` },
    { url: `${lab.url}/files/z/other.bin?size=300` },
  ];
  const first = await download(out, items);
  assert.deepEqual(first.records.map((r) => r.name), ['same.bin', 'same (2).bin', 'other.bin']);
  unlinkSync(join(out, 'other.bin'));
  const second = await download(out, [...items].reverse());
  assert.equal(second.summary.skipped, 2);
  assert.equal(second.summary.success, 1);
  assert.deepEqual(second.records.map((r) => [r.name, r.status]), [['same.bin', 'skipped'], ['same (2).bin', 'skipped'], ['other.bin', 'done']]);
  assert.equal(statSync(join(out, 'same (2).bin')).size, 200);
  const fresh = await download(out, items, { resume: false });
  assert.equal(fresh.summary.success, 3, 'resume: false starts over');
});

test('run() - a bad list line is reported and the rest complete', async () => {
  const out = tmp();
  const text = [`${lab.url}/files/l1.bin?size=10`, 'this is not a url', `${lab.url}/files/l2.bin?size=10\tnamed.bin`, `${lab.url}/files/l3.bin?size=10\t\tsha256:nothex`].join('\n');
  const dl = new Downloader({ out, ...fast });
  try {
    const summary = await dl.run(parseList(Readable.from([text])));
    assert.equal(summary.success, 2);
    assert.equal(summary.listErrors, 2);
    assert.deepEqual([...dl.listErrors()].map((e) => e.line), [2, 4]);
    assert.ok(existsSync(join(out, 'named.bin')));
    const report = join(out, 'report.json');
    await dl.writeReport(report);
    const parsed = JSON.parse(readFileSync(report, 'utf8')) as { totals: { success: number }; files: DownloadResult[]; listErrors: unknown[] };
    assert.equal(parsed.totals.success, 2);
    assert.deepEqual(parsed.files.map((f) => f.line), [1, 3]);
    assert.equal(parsed.listErrors.length, 2);
  } finally {
    await dl.close();
  }
});

test('run() - a 404 fails at once; a 503 is retried with backoff', async () => {
  const out = tmp();
  const { records } = await download(out, [
    { url: `${lab.url}/status/404` },
    { url: `${lab.url}/files/flaky.bin?size=100&fail_first=2&fail_status=503&key=flaky` },
  ]);
  assert.equal(records[0]!.status, 'failed');
  assert.equal(records[0]!.attempts, 1);
  assert.match(records[0]!.error!, /404/);
  assert.equal(records[1]!.status, 'done');
  assert.equal(records[1]!.attempts, 3);
});

test('run() - fileTimeoutMs fails a file that takes too long', async () => {
  const out = tmp();
  // Real time: the lab stalls for 20 s; the deadline is 300 ms, a wide margin either way.
  const { records } = await download(out, [{ url: `${lab.url}/files/slow.bin?size=100000&stall=20000&key=slow` }], { fileTimeoutMs: 300 });
  assert.equal(records[0]!.status, 'failed');
  assert.match(records[0]!.error!, /timeout/i);
});

test('run() - adaptive: a batch completes with the limit inside [1, concurrency]', async () => {
  const out = tmp();
  const items = Array.from({ length: 30 }, (_, i) => ({ url: `${lab.url}/files/ad/a${i}.bin?size=200000` }));
  const dl = new Downloader({ out, ...fast, adaptive: true, concurrency: 16, perHost: 16 });
  try {
    const summary = await dl.run(items);
    assert.equal(summary.success, 30);
    const limit = dl.stats().limit;
    assert.ok(limit >= 1 && limit <= 16);
  } finally {
    await dl.close();
  }
});

test('Downloader - options are checked at construction', () => {
  assert.throws(() => new Downloader({ out: 'x', concurrency: 0 }), /concurrency/);
  assert.throws(() => new Downloader({ out: 'x', perHost: -1 }), /perHost/);
  assert.throws(() => new Downloader({ out: '' }), /out/);
});

test('run() - items given directly get the list checks: a bad URL is a list error, not a crash', async () => {
  const out = tmp();
  const { summary } = await download(out, [{ url: 'not a url', line: 7 }, { url: 'ftp://h/x' }, { url: `${lab.url}/files/direct.bin?size=10` }]);
  assert.equal(summary.listErrors, 2);
  assert.equal(summary.success, 1);
});

// Run by test/package/run.ts inside a temporary project where the packed spate is installed:
// imports every subpath the installed package exports and uses one thing from each.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const uses = {
  '.': async ({ Semaphore }) => {
    const limit = new Semaphore(1);
    assert.equal(await limit.use(async () => 'ran'), 'ran');
  },
  './core': async ({ Queue }) => {
    const queue = new Queue({ maxsize: 2 });
    await queue.put(1);
    assert.equal(await queue.get(), 1);
  },
  './observe': ({ Histogram }) => {
    const histogram = new Histogram();
    histogram.record(5);
    assert.equal(histogram.count, 1);
  },
  './exec': async ({ Executor }) => {
    const pool = new Executor({ filename: new URL('./worker.mjs', import.meta.url), maxThreads: 1 });
    try {
      assert.equal(await pool.run('double', 21), 42);
    } finally {
      await pool.close();
    }
  },
  './lab': async ({ startLab }) => {
    const lab = await startLab({ port: 0 });
    await lab.close();
  },
  './http': async ({ Session }) => {
    const { startLab } = await import('spate/lab');
    const lab = await startLab({ port: 0 });
    const http = new Session();
    try {
      const response = await http.get(`${lab.url}/get`);
      assert.equal(response.status, 200);
      await response.text();
    } finally {
      await http.close();
      await lab.close();
    }
  },
  './tcp': ({ LineSplitter }) => {
    const lines = [];
    new LineSplitter(100, (line) => lines.push(line.toString())).push(Buffer.from('a\nb\n'));
    assert.deepEqual(lines, ['a', 'b']);
  },
  './ws': ({ encode, decode, envelope }) => {
    const decoded = decode(encode(envelope('message', { text: 'hi' })));
    assert.equal(decoded.ok, true);
    assert.deepEqual(decoded.envelopes[0].payload, { text: 'hi' });
  },
  './serve': async ({ buildApi }) => {
    const app = buildApi();
    const response = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    await app.close();
  },
  './store': ({ SqliteDb }) => {
    const db = SqliteDb.open(':memory:', { migrations: ['create table t (k text primary key)'] });
    db.transaction(() => db.run('insert into t values (?)', 'a'));
    db.close();
  },
  './crawl': ({ normalizeUrl }) => {
    assert.equal(normalizeUrl('HTTP://Example.COM:80/a/../b#frag'), 'http://example.com/b');
  },
  './download': ({ sanitizeName }) => {
    assert.equal(sanitizeName('../../etc/passwd'), 'passwd');
  },
  './pg': async ({ Pool }) => {
    // No server named: the embedded PostgreSQL (PGlite) in this process.
    const pool = new Pool({ url: 'pglite://memory' });
    try {
      assert.deepEqual(await pool.one('select 40 + $1::int as n', [2]), { n: 42 });
    } finally {
      await pool.close();
    }
  },
  './pipeline': async ({ pipeline }) => {
    const out = [];
    for await (const n of pipeline([1, 2, 3]).map((n) => n * 2, { concurrency: 2, ordered: true })) out.push(n);
    assert.deepEqual(out, [2, 4, 6]);
  },
  './dash': async ({ startDashboard }) => {
    const { MetricsRegistry } = await import('spate/observe');
    const dash = await startDashboard({ registry: new MetricsRegistry() });
    try {
      // The page's own script and uPlot come from the installed package, not a CDN.
      for (const asset of ['assets/dashboard.js', 'assets/uPlot.min.js']) {
        const response = await globalThis.fetch(new URL(asset, dash.url));
        assert.equal(response.status, 200, asset);
        assert.ok((await response.text()).length > 1000, asset);
      }
    } finally {
      await dash.close();
    }
  },
  './testing': async ({ VirtualClock }) => {
    const clock = new VirtualClock();
    await clock.advance(1000);
    assert.equal(clock.now(), 1000);
  },
};

const require = createRequire(import.meta.url);
const { exports } = require('spate/package.json');
const unchecked = [];
for (const subpath of Object.keys(exports)) {
  if (subpath === './package.json') continue;
  const specifier = subpath === '.' ? 'spate' : `spate/${subpath.slice(2)}`;
  const module = await import(specifier);
  assert.ok(Object.keys(module).length > 0, `${specifier} exports nothing`);
  if (uses[subpath]) await uses[subpath](module);
  else unchecked.push(specifier);
}
console.log(JSON.stringify({ node: process.version, imported: Object.keys(exports).length - 1, unchecked }));

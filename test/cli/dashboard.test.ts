// The CLI's --dashboard and --report-html, as a user runs them (child processes, a lab in this
// process). The browser side is in test/dash/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab, type Lab } from '../../src/lab/index.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let lab: Lab;
let dir: string;

before(async () => {
  lab = await startLab({ seed: 3 });
  dir = mkdtempSync(join(tmpdir(), 'spate-dash-cli-'));
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

function spate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [main, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The data a report carries for its page script. */
function reportData(path: string): { summary: Record<string, string | number>; frames: { totals: Record<string, number> }[]; sections: { title: string; bars?: { labels: string[]; values: number[] }; table?: { rows: unknown[][] } }[] } {
  const html = readFileSync(path, 'utf8');
  const json = /<script type="application\/json" id="spate-data">(.*?)<\/script>/s.exec(html)![1]!;
  return JSON.parse(json);
}

test('spate download --dashboard --report-html: the dashboard is announced, the report has the job\'s figures, and the process ends', async () => {
  const list = join(dir, 'list.txt');
  const urls = Array.from({ length: 12 }, (_, i) => `${lab.url}/files/f${i}.bin?size=20000`);
  urls.push(`${lab.url}/status/404`);
  writeFileSync(list, `${urls.join('\n')}\n`);
  const report = join(dir, 'download.html');
  const run = await spate(['download', list, '-d', join(dir, 'files'), '--retries', '0', '--report-html', report, '--dashboard']);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^spate download: dashboard at http:\/\/127\.0\.0\.1:\d+\/$/m);
  assert.match(run.stderr, /report written to/);
  assert.match(run.stderr, /12 downloaded, 0 skipped, 1 failed of 13/);
  const data = reportData(report);
  assert.equal(data.summary.downloaded, 12);
  assert.equal(data.summary.failed, 1);
  const outcomes = data.sections.find((s) => s.title === 'Outcomes')!.bars!;
  assert.deepEqual(Object.fromEntries(outcomes.labels.map((l, i) => [l, outcomes.values[i]])), { done: 12, failed: 1 });
  const failures = data.sections.find((s) => s.title.startsWith('Failures'))!.table!.rows;
  assert.equal(failures.length, 1);
  assert.equal(failures[0]![0], `${lab.url}/status/404`);
  assert.equal(data.frames.at(-1)!.totals['download files'], 13);
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp-')), [], 'no temp file is left');
});

test('spate crawl --report-html into a directory that does not exist: says so and exits 1, leaving nothing', async () => {
  const report = join(dir, 'missing', 'crawl.html');
  const run = await spate(['crawl', `${lab.url}/site/pages=20,extras=0/`, '--fresh', '-o', join(dir, 'pages.jsonl'), '--report-html', report]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^spate crawl: could not write the report: /m);
});

test('spate crawl --dashboard=PORT takes a port; anything else is a usage error that says how to write it', async () => {
  const run = await spate(['crawl', '--dashboard', `${lab.url}/site/default/`]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--dashboard=PORT/);
});

test('spate serve echo --dashboard: the server\'s figures are on the dashboard, and Ctrl-C closes both', async () => {
  const child = spawn(process.execPath, [main, 'serve', 'echo', '--port', '0', '--dashboard'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    while (!/listening on \S+;/.test(stdout)) await once(child.stdout, 'data');
    while (!/dashboard at \S+/.test(stderr)) await once(child.stderr, 'data');
    const port = Number(/:(\d+)\S*;/.exec(stdout)![1]);
    const dashUrl = /dashboard at (\S+)/.exec(stderr)![1]!;
    const socket = connect(port, '127.0.0.1');
    socket.write('one\ntwo\n');
    await once(socket, 'data');
    // Frames arrive every second: read the stream until one shows both lines.
    const res = await fetch(new URL('events', dashUrl));
    let seen: { totals: Record<string, number>; depths: Record<string, number> } | undefined;
    let buffer = '';
    for await (const chunk of res.body!) {
      buffer += Buffer.from(chunk).toString();
      const frames = [...buffer.matchAll(/^event: frame\ndata: (.*)\n\n/gm)].map((m) => JSON.parse(m[1]!));
      seen = frames.find((f) => f.totals['echo lines'] === 2);
      if (seen) break;
    }
    assert.equal(seen!.depths['echo connections'], 1);
    socket.destroy();
    child.kill('SIGINT');
    assert.equal(await closed, 0);
  } finally {
    child.kill('SIGKILL');
  }
});

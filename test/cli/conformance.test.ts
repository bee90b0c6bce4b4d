// One matrix for every command: how it behaves when called wrong, when its output goes nowhere or
// away, and when it is interrupted. Each case runs the real CLI in a child process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLab, type Lab } from '../../src/lab/index.ts';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let lab: Lab;
let dir: string;

before(async () => {
  lab = await startLab({ seed: 3 });
  dir = mkdtempSync(join(tmpdir(), 'spate-cli-conformance-'));
});
after(async () => {
  await lab.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

function run(args: string[], options: { stdout?: 'pipe' | 'ignore'; closeStdoutAfterFirstChunk?: boolean; interruptWhen?: RegExp } = {}): Promise<Run> {
  const child = spawn(process.execPath, [main, ...args], { cwd: dir, stdio: ['ignore', options.stdout ?? 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c;
    // The reader goes away, as `| head -1` does.
    if (options.closeStdoutAfterFirstChunk) child.stdout!.destroy();
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c;
    if (options.interruptWhen && !interrupted && options.interruptWhen.test(stderr)) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** A usage error: exit 2 and exactly one line `spate <name>: … (see spate <name> --help)`, no stack. */
function assertUsage(result: Run, name: string, about?: RegExp): void {
  assert.equal(result.code, 2, `exit code; stderr: ${result.stderr}`);
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one stderr line, got: ${result.stderr}`);
  const command = name === '' ? 'spate' : `spate ${name}`;
  assert.ok(lines[0]!.startsWith(`${command}: `), `starts with "${command}: ": ${lines[0]}`);
  assert.ok(lines[0]!.endsWith(`(see ${command} --help)`), `points to --help: ${lines[0]}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  if (about) assert.match(lines[0]!, about);
}

const site = () => `${lab.url}/site/pages=40,extras=0/`;
const slowSite = () => `${lab.url}/site/pages=5000,extras=0,latency=20/`;

// Every command (and the arguments it needs to get as far as its options).
const commands: { name: string; argv: () => string[]; bad: string[]; missing?: boolean }[] = [
  { name: 'crawl', argv: () => [site(), '--state', join(dir, 'c-usage.sqlite')], bad: ['--concurrency', '0'], missing: true },
  { name: 'download', argv: () => ['-', '-d', join(dir, 'dl-usage')], bad: ['--retries', '-1'], missing: true },
  { name: 'demo', argv: () => [], bad: ['--delay', 'abc'] },
  { name: 'lab', argv: () => [], bad: ['--port', 'http'] },
  { name: 'bench fanout', argv: () => [], bad: ['--delay', '5'] },
  { name: 'serve api', argv: () => [], bad: ['--workers', '0'] },
  { name: 'serve echo', argv: () => [], bad: ['--grace', 'soon'] },
  { name: 'serve chat', argv: () => [], bad: ['--rate', 'lots'] },
  { name: 'serve ws-chat', argv: () => [], bad: ['--heartbeat', '-1s'] },
  { name: 'ws', argv: () => ['ws://127.0.0.1:1/'], bad: ['--buffer', '0'], missing: true },
  { name: 'tour', argv: () => [], bad: ['--quick', '--nope'] },
  { name: 'pipeline run', argv: () => [pipelineModule], bad: ['--progress-interval', '10'], missing: true },
  { name: 'pipeline dlq list', argv: () => ['--state', join(dir, 'p.sqlite')], bad: ['--id', 'x'] },
  { name: 'worker', argv: () => [pipelineModule, '--broker', 'redis://127.0.0.1:6379'], bad: ['--concurrency', '0'], missing: true },
  { name: 'dash', argv: () => ['http://127.0.0.1:1/metrics'], bad: ['--port', '70000'], missing: true },
  { name: 'crawl export', argv: () => ['--state', join(dir, 'x.sqlite'), '-o', join(dir, 'x.jsonl')], bad: ['--job', ''] },
];
const pipelineModule = fileURLToPath(new URL('../../examples/pipeline/module.ts', import.meta.url));

test('an unknown command: one line, exit 2', async () => {
  assertUsage(await run(['no-such-command']), '', /unknown command 'no-such-command'/);
});

describe('every command: usage errors are one line and exit 2', { concurrency: 4 }, () => {
  for (const c of commands) {
    const words = c.name.split(' ');
    test(`${c.name}: unknown option`, async () => {
      assertUsage(await run([...words, ...c.argv(), '--no-such-option']), c.name, /unknown option '--no-such-option'/);
    });
    test(`${c.name}: bad value`, async () => {
      assertUsage(await run([...words, ...c.argv(), ...c.bad]), c.name);
    });
    if (c.missing) {
      test(`${c.name}: missing argument`, async () => {
        assertUsage(await run(words), c.name, /missing required|not specified/);
      });
    }
  }
});

describe('paths are checked before any work, naming the option', () => {
  test('crawl -o into a missing folder', async () => {
    assertUsage(await run(['crawl', site(), '-o', '/nonexistent/pages.jsonl', '--state', join(dir, 'p1.sqlite')]), 'crawl', /--output/);
  });
  test('crawl --state where no file can be created', async () => {
    const result = await run(['crawl', site(), '--state', '/proc/x.sqlite']);
    assertUsage(result, 'crawl', /--state/);
    assert.equal(result.stdout, '', 'nothing was crawled');
  });
  test('crawl -o naming a folder', async () => {
    assertUsage(await run(['crawl', site(), '-o', dir, '--state', join(dir, 'p2.sqlite')]), 'crawl', /is a folder/);
  });
  test('download --report into a missing folder: nothing is downloaded', async () => {
    const list = join(dir, 'one.txt');
    writeFileSync(list, `${lab.url}/files/a.bin?size=1000\n`);
    const out = join(dir, 'dl-report');
    assertUsage(await run(['download', list, '-d', out, '--report', '/nonexistent/r.json']), 'download', /--report/);
    assert.equal(existsSync(join(out, 'a.bin')), false);
  });
  test('download -d naming a file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    assertUsage(await run(['download', '-', '-d', file]), 'download', /--out-dir .* is a file/);
  });
  test('download -o says what to use instead', async () => {
    assertUsage(await run(['download', '-', '-o', join(dir, 'x')]), 'download', /-d\/--out-dir/);
  });
});

describe('output to /dev/null and to a closed pipe', () => {
  test('crawl -o /dev/null works (no truncate of a device)', async () => {
    const result = await run(['crawl', site(), '-o', '/dev/null', '--state', join(dir, 'null.sqlite'), '-q']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
  });
  test('download --report /dev/null works and leaves /dev/null a device', async () => {
    const list = join(dir, 'null-list.txt');
    writeFileSync(list, `${lab.url}/files/n.bin?size=2000\n`);
    const result = await run(['download', list, '-d', join(dir, 'dl-null'), '--report', '/dev/null', '-q']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(spawnSync('test', ['-c', '/dev/null']).status === 0, '/dev/null is still a character device');
  });
  test('demo with stdout to /dev/null', async () => {
    const result = await run(['demo', '--delay', '1ms', '--sequential-max', '3'], { stdout: 'ignore' });
    assert.equal(result.code, 0, result.stderr);
  });
  test('crawl | head -1: ends quietly with 141, state kept for --resume', async () => {
    const state = join(dir, 'pipe.sqlite');
    const result = await run(['crawl', slowSite(), '-o', '-', '--state', state, '-q', '-c', '4'], { closeStdoutAfterFirstChunk: true });
    assert.equal(result.code, 141, result.stderr);
    assert.equal(result.stderr, '', 'no message');
    assert.ok(existsSync(state));
  });
  test('download --json | head -1: ends quietly with 141', async () => {
    const list = join(dir, 'pipe-list.txt');
    writeFileSync(list, Array.from({ length: 200 }, (_, i) => `${lab.url}/files/p${i}.bin?size=1000`).join('\n'));
    const result = await run(['download', list, '-d', join(dir, 'dl-pipe'), '--json', '-c', '2'], { closeStdoutAfterFirstChunk: true });
    assert.equal(result.code, 141, result.stderr);
    assert.equal(result.stderr, '', 'no message');
  });
});

describe('SIGINT mid-run: exit 130, state kept, no stack trace', () => {
  test('crawl', async () => {
    const result = await run(['crawl', slowSite(), '-o', join(dir, 'int.jsonl'), '--state', join(dir, 'int.sqlite'), '--progress-interval', '50ms'], { interruptWhen: /pages/ });
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /--resume/);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
  test('download', async () => {
    const list = join(dir, 'int-list.txt');
    writeFileSync(list, `${lab.url}/files/int.bin?size=1000000&stall=30000&stall_at=100000&key=conf-int\n`);
    const result = await run(['download', list, '-d', join(dir, 'dl-int'), '--progress-interval', '50ms'], { interruptWhen: /in flight/ });
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /--resume/);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});

// A progress bar on a terminal hides the cursor; every way out must show it again. `script`
// gives the command a pseudo-terminal, and ^C typed into it is a real terminal interrupt.
const hasScript = spawnSync('script', ['--version']).status === 0;
describe('the terminal is restored', { skip: hasScript ? false : 'script(1) from util-linux is missing' }, () => {
  test('crawl interrupted by ^C on a terminal shows the cursor again', async () => {
    const command = [process.execPath, main, 'crawl', slowSite(), '-o', join(dir, 'tty.jsonl'), '--state', join(dir, 'tty.sqlite')]
      .map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let sent = false;
    child.stdout.on('data', (c: Buffer) => {
      screen += c.toString('latin1');
      if (!sent && screen.includes('\u001B[?25l') && /\d+ pages/.test(screen)) {
        sent = true;
        child.stdin.write('\u0003');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.ok(sent, `the bar was drawn: ${JSON.stringify(screen.slice(0, 300))}`);
    assert.equal(code, 130, JSON.stringify(screen.slice(-400)));
    assert.ok(screen.lastIndexOf('\u001B[?25h') > screen.lastIndexOf('\u001B[?25l'), 'cursor shown after it was hidden');
  });
});

describe('progress that does not lie', { skip: hasScript ? false : 'script(1) from util-linux is missing' }, () => {
  test('download from stdin on a terminal: counts and rates while the list is read, no fraction; the last frame is the summary\'s', async () => {
    const command = [process.execPath, main, 'download', '-', '-d', join(dir, 'dl-tty')].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let whileReading = '';
    child.stdout.on('data', (c: Buffer) => {
      screen += c.toString('latin1');
      // One file done, the list still open: end it (^D) and keep what was drawn before.
      if (!whileReading && /reading the list/.test(screen) && /\b1 files/.test(screen)) {
        whileReading = screen;
        child.stdin.write('\u0004');
      }
    });
    child.stdin.write(`${lab.url}/files/tty.bin?size=50000\n`);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.ok(whileReading, `a frame while the list was read: ${JSON.stringify(screen.slice(-300))}`);
    assert.doesNotMatch(whileReading, /\d+%/, 'no fraction while the total is unknown');
    assert.equal(code, 0, JSON.stringify(screen.slice(-400)));
    const after = screen.slice(whileReading.length);
    assert.match(after, /100% \| 0\.1\/0\.1 MB/, 'the last frame is complete');
    assert.match(after, /1 downloaded, 0 skipped, 0 failed of 1/);
  });
});

// Shared by bullmq.test.ts and amqp.test.ts: service probes, worker processes, the keyed sink's reader, the SIGTERM tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectBroker, type Broker } from '../../src/pipeline/broker.ts';

const root = new URL('../..', import.meta.url).pathname;
export const fixture = join(root, 'test/pipeline/fixtures/square-worker.ts');

/** `undefined` when host:port answers; else a skip reason (under CI=true: throws, never skips). */
export async function needService(name: string, port: number): Promise<string | undefined> {
  const up = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
  if (up) return undefined;
  if (process.env.CI === 'true') throw new Error(`${name} is not answering on 127.0.0.1:${port} (CI=true: broker tests never skip)`);
  return `${name} is not answering on 127.0.0.1:${port}`;
}

export function uniqueQueue(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'spate-broker-'));
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the first JSON line that matches. */
  waitFor(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  lines: Record<string, unknown>[];
  stderr: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `spate worker <module> --broker URL --queue Q --json …` as a real process (no --queue when `queue` is ''). */
export function spawnWorker(url: string, queue: string, out: string, extra: string[] = [], env: Record<string, string> = {}, module = fixture): WorkerProcess {
  const child = spawn(process.execPath, [join(root, 'src/cli/main.ts'), 'worker', module, '--broker', url, ...(queue === '' ? [] : ['--queue', queue]), '--json', ...extra], {
    env: { ...process.env, SPATE_TEST_OUT: out, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const watchers: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const seen: Record<string, unknown>[] = [];
  const notify = (line: Record<string, unknown>): void => {
    seen.push(line);
    for (const w of [...watchers]) {
      if (!w.match(line)) continue;
      watchers.splice(watchers.indexOf(w), 1);
      w.resolve(line);
    }
  };
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    lines.push(line);
    notify(line);
  });
  createInterface({ input: child.stderr! }).on('line', (text) => {
    stderr.push(text);
    notify({ type: 'stderr', text });
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    lines,
    stderr,
    exit,
    waitFor: (match) => {
      // Every line seen so far counts: one may have arrived before the caller started waiting.
      const found = seen.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        watchers.push({ match, resolve });
        void exit.then(({ code, signal }) => reject(new Error(`worker exited (${code ?? signal}) before the awaited line; stderr: ${stderr.slice(-5).join(' | ')}`)));
      });
    },
  };
}

/** Every line of the keyed sink, and the deduplicated view (key → output). */
export function readSink(dir: string): { raw: number; byKey: Map<string, unknown> } {
  let raw = 0;
  const byKey = new Map<string, unknown>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    for (const text of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (text === '') continue;
      const { key, out } = JSON.parse(text) as { key: string; out: unknown };
      raw++;
      byKey.set(key, out);
    }
  }
  return { raw, byKey };
}

/** Resolves once `check()` is true, looking after each event of `emitter`-like callbacks, or every 25 ms. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The kill -9 scenario on a real broker: two worker processes, the first SIGKILLed after it
 * reported `after` items; then every item is in the keyed sink exactly once, and SIGTERM stops
 * the survivor with exit 0.
 */
export async function killMidRun(url: string, connect: (queue: string) => Promise<Broker>, extra: string[] = []): Promise<{ raw: number; redelivered: number }> {
  const queue = uniqueQueue('kill');
  const out = tempDir();
  const broker = await connect(queue);
  const a = spawnWorker(url, queue, out, extra);
  const b = spawnWorker(url, queue, out, extra);
  try {
    await Promise.all([a.waitFor((l) => l.type === 'ready'), b.waitFor((l) => l.type === 'ready')]);
    const n = 80;
    await broker.producer<{ n: number; ms: number }>().enqueueAll(Array.from({ length: n }, (_, i) => ({ n: i, ms: 40 })), { key: (item) => `i${item.n}` });
    let doneA = 0;
    await a.waitFor((l) => l.type === 'done' && ++doneA >= 5);
    a.child.kill('SIGKILL');
    await a.exit;
    const keys = (w: WorkerProcess): string[] => w.lines.filter((l) => l.type === 'done').map((l) => l.key as string);
    await until(() => new Set([...keys(a), ...keys(b)]).size >= n, 'every item done');
    b.child.kill('SIGTERM');
    const { code } = await b.exit;
    if (code !== 0) throw new Error(`SIGTERM: worker exited ${code}; stderr: ${b.stderr.join(' | ')}`);
    if (!b.lines.some((l) => l.type === 'summary')) throw new Error('no summary after SIGTERM');
    const { raw, byKey } = readSink(out);
    const expected = new Map(Array.from({ length: n }, (_, i) => [`i${i}`, i * i]));
    if (byKey.size !== n) throw new Error(`sink holds ${byKey.size} keys, expected ${n}`);
    for (const [k, v] of expected) if (byKey.get(k) !== v) throw new Error(`sink ${k} = ${String(byKey.get(k))}, expected ${v}`);
    const redelivered = b.lines.filter((l) => l.type === 'done' && keys(a).includes(l.key as string)).length + b.lines.filter((l) => l.type === 'done' && (l.attempt as number) > 1).length;
    return { raw, redelivered };
  } finally {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await broker.destroy().catch(() => {});
    await broker.close();
  }
}

/**
 * The two SIGTERM tests every transport passes: the job in flight finishes and is acknowledged;
 * past `--grace` it is handed back to the queue instead, not counted as a failed attempt.
 */
export function sigtermTests(name: string, url: string, skip: string | undefined, options: { emptyAfterFinish?: boolean } = {}): void {
  test(`${name} - SIGTERM lets the job in flight finish, then exits 0`, { skip }, async () => {
    const queue = uniqueQueue('term');
    const broker = await connectBroker(url, { queue });
    const w = spawnWorker(url, queue, tempDir(), [], { SPATE_TEST_LOG_START: '1' });
    try {
      await w.waitFor((l) => l.type === 'ready');
      await broker.producer<{ n: number; ms: number }>().enqueue({ n: 3, ms: 400 }, { key: 'slow' });
      await w.waitFor((l) => l.type === 'stderr' && l.text === 'start 3');
      w.child.kill('SIGTERM');
      assert.equal((await w.exit).code, 0);
      assert.ok(w.lines.some((l) => l.type === 'done' && l.key === 'slow'), 'the in-flight job finished');
      if (options.emptyAfterFinish) assert.equal(await broker.depth(), 0);
    } finally {
      w.child.kill('SIGKILL');
      await broker.destroy();
      await broker.close();
    }
  });

  test(`${name} - SIGTERM past --grace hands the job in flight back to the queue, then exits 0`, { skip }, async () => {
    const queue = uniqueQueue('grace');
    const broker = await connectBroker(url, { queue });
    const w = spawnWorker(url, queue, tempDir(), ['--grace', '200ms'], { SPATE_TEST_LOG_START: '1' });
    try {
      await w.waitFor((l) => l.type === 'ready');
      await broker.producer<{ n: number; ms: number }>().enqueue({ n: 4, ms: 60_000 }, { key: 'long' });
      await w.waitFor((l) => l.type === 'stderr' && l.text === 'start 4');
      w.child.kill('SIGTERM');
      assert.equal((await w.exit).code, 0);
      assert.ok(!w.lines.some((l) => l.type === 'done' || l.type === 'retry' || l.type === 'dead'), 'handed back, not a failed attempt');
      await until(async () => (await broker.depth()) === 1, 'the job back in the queue');
    } finally {
      w.child.kill('SIGKILL');
      await broker.destroy();
      await broker.close();
    }
  });
}

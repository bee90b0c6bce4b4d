import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const program = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const children: ChildProcess[] = [];

after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Runs `spate serve api <args> --port 0` and resolves with the URL it prints. */
async function serve(args: string[], detached = false): Promise<{ child: ChildProcess; url: URL; exited: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [program, 'serve', 'api', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], detached });
  children.push(child);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (err += chunk));
  const url = await new Promise<URL>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const match = /^spate api listening on (\S+)$/m.exec(out);
      if (match !== null) resolve(new URL(match[1]!));
    });
    void exited.then(() => reject(new Error(`exited before listening: ${out}${err}`)));
  });
  return { child, url, exited, stderr: () => err };
}

/** One request on a fresh connection. */
function call(url: URL, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(new URL(path, url), {
      method: payload === undefined ? 'GET' : 'POST',
      agent: false,
      headers: payload === undefined ? {} : { 'content-type': 'application/json' },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('spate serve api', { timeout: 120_000 }, () => {
  test('prints its URL, serves the endpoints, logs JSON, and exits 0 on SIGTERM', async () => {
    const { child, url, exited } = await serve(['--log-level', 'info']);
    assert.equal(url.protocol, 'http:');
    assert.equal(url.hostname, '127.0.0.1');
    let logs = '';
    child.stdout!.on('data', (chunk: string) => (logs += chunk));
    const health = await call(url, '/health');
    assert.equal(health.status, 200);
    assert.equal(health.json.status, 'ok');
    assert.equal(health.json.pid, child.pid);
    const echo = await call(url, '/echo', { hi: 1 });
    assert.deepEqual(echo.json.received, { hi: 1 });
    const bad = await call(url, '/data/nope');
    assert.equal(bad.status, 400);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    const completed = logs.split('\n').filter((line) => line.includes('"request completed"')).map((line) => JSON.parse(line) as { reqId: string; res: { statusCode: number } });
    assert.deepEqual(completed.map((l) => l.res.statusCode), [200, 200, 400]);
    assert.equal(new Set(completed.map((l) => l.reqId)).size, 3);
  });

  test('exits 0 on SIGINT too', async () => {
    const { child, exited } = await serve(['--log-level', 'silent']);
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });

  test('--workers 2 serves from two worker processes on one port and exits 0 on SIGTERM', async () => {
    const { child, url, exited, stderr } = await serve(['--workers', '2', '--log-level', 'silent']);
    const pids = new Set<unknown>();
    for (let i = 0; i < 8; i++) pids.add((await call(url, '/health')).json.pid);
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(child.pid), 'the primary does not serve');
    assert.match(stderr(), /2 workers \(pids \d+, \d+\)/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    for (const pid of pids) assert.throws(() => process.kill(pid as number, 0), { code: 'ESRCH' });
  });

  test('--workers: Ctrl-C (SIGINT to the whole process group) lets a request in flight finish, then exits 0', async () => {
    const { child, url, exited, stderr } = await serve(['--workers', '2', '--log-level', 'info'], true);
    let logs = '';
    child.stdout!.on('data', (chunk: string) => (logs += chunk));
    const slow = call(url, '/slow?delay=0.5');
    // The worker logs the request when it starts on it: from then on, the request is in flight.
    while (!logs.includes('"url":"/slow?delay=0.5"')) await once(child.stdout!, 'data');
    process.kill(-child.pid!, 'SIGINT');
    const reply = await slow;
    assert.equal(reply.status, 200);
    assert.equal(reply.json.message, 'Slow response completed');
    assert.equal(await exited, 0);
    assert.doesNotMatch(stderr(), /restarting|did not exit cleanly/);
  });

  test('--workers: a worker that crashes is replaced', async () => {
    const { child, url, exited, stderr } = await serve(['--workers', '2', '--log-level', 'silent']);
    const victim = (await call(url, '/health')).json.pid as number;
    process.kill(victim, 'SIGKILL');
    while (!/restarting in/.test(stderr())) await once(child.stderr!, 'data');
    const pids = new Set<unknown>();
    // Round-robin over the workers alive: once the replacement listens, it answers too.
    while (pids.size < 2 || pids.has(victim)) {
      pids.clear();
      for (let i = 0; i < 4; i++) pids.add((await call(url, '/health')).json.pid);
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });

  test('a port in use exits 1, in one process and as a cluster (no crash loop)', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const port = String((blocker.address() as { port: number }).port);
    for (const extra of [[], ['--workers', '2']]) {
      const child = spawn(process.execPath, [program, 'serve', 'api', '--log-level', 'silent', ...extra, '--port', port], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      let err = '';
      child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
      const [code] = await once(child, 'exit');
      assert.equal(code, 1, extra.join(' '));
      assert.match(err, /EADDRINUSE/);
    }
    blocker.close();
  });

  test('a bad option is a usage error (exit 2)', async () => {
    for (const args of [['--workers', '0'], ['--log-level', 'loud'], ['--port', 'http']]) {
      const child = spawn(process.execPath, [program, 'serve', 'api', ...args], { stdio: 'ignore' });
      children.push(child);
      const [code] = await once(child, 'exit');
      assert.equal(code, 2, args.join(' '));
    }
  });
});

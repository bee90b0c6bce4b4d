import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const program = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const children: ChildProcess[] = [];

after(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs `spate serve <args>` and resolves with the URL it prints. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: URL; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [program, 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  let out = '';
  child.stdout!.setEncoding('utf8');
  const url = await new Promise<URL>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const match = / listening on (\S+);/.exec(out);
      if (match !== null) resolve(new URL(match[1]!));
    });
    void exited.then(() => reject(new Error(`exited before listening: ${out}`)));
  });
  return { child, url, exited };
}

describe('spate serve (echo, chat, ws-chat)', { timeout: 120_000 }, () => {
  test('serve echo prints its address, echoes lines, and exits 0 on SIGTERM', async () => {
    const { child, url, exited } = await serve(['echo']);
    assert.equal(url.protocol, 'tcp:');
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.setEncoding('utf8');
    socket.write('hi\n');
    const [reply] = await once(socket, 'data');
    assert.equal(reply, 'Echo: hi\n');
    child.kill('SIGTERM');
    await once(socket, 'close');
    assert.equal(await exited, 0);
  });

  test('serve chat greets a client and exits 0 on SIGINT', async () => {
    const { child, url, exited } = await serve(['chat', '--rate', '5/1s']);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.setEncoding('utf8');
    const [prompt] = await once(socket, 'data');
    assert.equal(prompt, '* Welcome! Choose a nickname:\n');
    child.kill('SIGINT');
    await once(socket, 'close');
    assert.equal(await exited, 0);
  });

  test('serve ws-chat announces a join and closes peers with 1001 on SIGTERM', async () => {
    const { child, url, exited } = await serve(['ws-chat', '--heartbeat', '0s']);
    assert.equal(url.protocol, 'ws:');
    const ws = new WebSocket(`${url.href}?nick=ann`);
    const [data] = await once(ws, 'message');
    assert.deepEqual(JSON.parse(String(data)).payload, { nick: 'ann', room: 'lobby', users: 1 });
    child.kill('SIGTERM');
    const [code] = await once(ws, 'close');
    assert.equal(code, 1001);
    assert.equal(await exited, 0);
  });

  test('a bad option is a usage error (exit 2)', async () => {
    const child = spawn(process.execPath, [program, 'serve', 'chat', '--rate', 'lots'], { stdio: 'ignore' });
    children.push(child);
    const [code] = await once(child, 'exit');
    assert.equal(code, 2);
  });
});

import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { Command } from 'commander';
import { register, runWs } from '../../src/cli/ws.ts';
import { AckServer } from '../ws/ack-server.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** A raw echo server: every text frame comes back upper-cased. */
async function echoServer(): Promise<{ url: string; received: string[] }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const received: string[] = [];
  wss.on('connection', (ws) => ws.on('message', (data) => {
    received.push(String(data));
    ws.send(String(data).toUpperCase());
  }));
  closers.push(() => new Promise((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => resolve());
  }));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, received };
}

describe('spate ws', { timeout: 20_000 }, () => {
  test('raw mode - stdin lines go out as text frames, replies come to stdout; exit 0 at stdin end', async () => {
    const server = await echoServer();
    const out = sink();
    const err = sink();
    const code = await runWs(server.url, { verbose: false }, { stdin: Readable.from(['hello\nworld\n']), stdout: out.stream, stderr: err.stream });
    assert.equal(code, 0);
    assert.deepEqual(server.received, ['hello', 'world']);
    assert.equal(out.text(), 'HELLO\nWORLD\n');
    assert.equal(err.text(), '');
  });

  test('--json --reliable - lines become envelopes, acknowledged before exit', async () => {
    const server = await AckServer.start();
    closers.push(() => server.kill());
    const out = sink();
    const input = '{"type":"chat","payload":{"text":"hi"}}\nplain\n42\n';
    const code = await runWs(server.url, { reliable: true, verbose: false }, { stdin: Readable.from([input]), stdout: out.stream, stderr: sink().stream });
    assert.equal(code, 0);
    assert.deepEqual(server.received.map((r) => [r.type, r.payload, r.seq]), [['chat', { text: 'hi' }, 1], ['message', 'plain', 2], ['message', 42, 3]]);
    assert.equal(out.text(), '', 'acks are not printed');
  });

  test('--json - incoming envelopes print as JSON lines', async () => {
    const server = await AckServer.start();
    closers.push(() => server.kill());
    const out = sink();
    const stdin = new PassThrough();
    const running = runWs(server.url, { json: true, verbose: false }, { stdin, stdout: out.stream, stderr: sink().stream });
    stdin.write('x\n');
    await server.waitReceived(1);
    server.broadcast(JSON.stringify({ type: 'chat', payload: 'yo', timestamp: 5 }));
    await new Promise<void>((resolve) => {
      const check = () => (out.text().includes('yo') ? resolve() : setImmediate(check));
      check();
    });
    stdin.end();
    assert.equal(await running, 0);
    assert.equal(out.text(), '{"type":"chat","payload":"yo","timestamp":5}\n');
  });

  test('interrupt - an abort while stdin is open exits 130 at once', async () => {
    const server = await echoServer();
    const controller = new AbortController();
    const stdin = new PassThrough();
    const running = runWs(server.url, { verbose: false }, { stdin, stdout: sink().stream, stderr: sink().stream, signal: controller.signal });
    stdin.write('one\n');
    await new Promise<void>((resolve) => {
      const check = () => (server.received.length > 0 ? resolve() : setImmediate(check));
      check();
    });
    controller.abort();
    assert.equal(await running, 130);
  });

  test('--no-reconnect - a lost connection exits 1; a bad URL exits 2', async () => {
    const server = await AckServer.start();
    const err = sink();
    const stdin = new PassThrough();
    const running = runWs(server.url, { json: true, reconnect: false }, { stdin, stdout: sink().stream, stderr: err.stream });
    stdin.write('a\n');
    await server.waitReceived(1);
    await server.kill();
    assert.equal(await running, 1);
    assert.match(err.text(), /giving up/);
    assert.equal(await runWs('http://nope/', {}, { stdin: Readable.from([]), stdout: sink().stream, stderr: err.stream }), 2);
  });

  test('never connected - exit 1 even when stdin is empty', async () => {
    const err = sink();
    const code = await runWs('ws://127.0.0.1:1/', { reconnect: false }, { stdin: Readable.from([]), stdout: sink().stream, stderr: err.stream });
    assert.equal(code, 1);
    assert.match(err.text(), /could not connect/);
  });

  test('plain mode - messages written to a connection that then died: exit 1, they may be lost', async () => {
    // A server that takes one frame, then drops the connection without a close frame.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    closers.push(() => new Promise((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    }));
    let got = 0;
    wss.on('connection', (ws) => ws.on('message', () => {
      got++;
      ws.terminate();
    }));
    const err = sink();
    const stdin = new PassThrough();
    const running = runWs(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { reconnect: false }, { stdin, stdout: sink().stream, stderr: err.stream });
    stdin.write('a\n');
    await new Promise<void>((resolve) => {
      const check = () => (got > 0 ? resolve() : setImmediate(check));
      check();
    });
    stdin.end();
    assert.equal(await running, 1);
  });

  test('--reliable against a server that never acks - a bounded drain, then exit 1', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    closers.push(() => new Promise((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    }));
    const err = sink();
    const code = await runWs(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, { reliable: true, drainTimeoutMs: 200 }, { stdin: Readable.from(['one\ntwo\n']), stdout: sink().stream, stderr: err.stream });
    assert.equal(code, 1);
    assert.match(err.text(), /not acknowledged within --drain-timeout/);
  });

  test('register() - adds the ws command with help', () => {
    const program = new Command();
    register(program);
    const command = program.commands.find((c) => c.name() === 'ws');
    assert.ok(command);
    assert.match(command.helpInformation(), /--reliable/);
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { type EchoServer, startEchoServer } from '../../src/tcp/echo-server.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

const servers: EchoServer[] = [];
const clients: Socket[] = [];

after(async () => {
  for (const client of clients) client.destroy();
  await Promise.all(servers.map((s) => s.destroy()));
});

async function start(options: Parameters<typeof startEchoServer>[0] = {}): Promise<EchoServer> {
  const server = await startEchoServer(options);
  servers.push(server);
  return server;
}

/** A client that collects what it receives and can wait for a number of lines or for the end. */
async function client(server: EchoServer, options: { allowHalfOpen?: boolean } = {}) {
  const serverSide = once(server.server, 'connection').then(([s]) => s as Socket);
  const socket = connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
  clients.push(socket);
  await once(socket, 'connect');
  let text = '';
  let count = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const check = () => {
    for (const w of waiters.splice(0)) {
      if (count >= w.count) w.resolve();
      else waiters.push(w);
    }
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) count++;
    check();
  });
  const ended = once(socket, 'close').then(() => text);
  // A test that never awaits `ended` must not fail on a reset it caused on purpose (the grace test).
  ended.catch(() => {});
  return {
    socket,
    serverSide,
    /** Resolves when the server's side of this connection has closed. */
    serverClosed: () => serverSide.then((s) => (s.closed ? undefined : once(s, 'close'))),
    get text() {
      return text;
    },
    lines: (count: number) =>
      new Promise<string[]>((resolve) => {
        waiters.push({ count, resolve: () => resolve(text.split('\n').slice(0, count)) });
        check();
      }),
    ended,
  };
}

describe('startEchoServer', { timeout: 60_000 }, () => {
  test('listens on 127.0.0.1 and a free port by default and reports its address', async () => {
    const server = await start();
    assert.equal(server.host, '127.0.0.1');
    assert.ok(server.port > 0);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
    assert.equal(server.url, `tcp://127.0.0.1:${server.port}`);
    assert.equal(server.state, 'listening');
    await server.close();
    assert.equal(server.state, 'closed');
  });

  test('answers each line with "Echo: <line>", in order', async () => {
    const server = await start();
    const c = await client(server);
    c.socket.write('hello\nworld\n');
    assert.deepEqual(await c.lines(2), ['Echo: hello', 'Echo: world']);
    c.socket.end();
    await c.ended;
  });

  test('joins a line split across packets, strips \\r of CRLF, keeps a split multi-byte character', async () => {
    const server = await start();
    const c = await client(server);
    const bytes = Buffer.from('你好 wor');
    c.socket.write(bytes.subarray(0, 1));
    await new Promise((resolve) => setImmediate(resolve));
    c.socket.write(bytes.subarray(1));
    await new Promise((resolve) => setImmediate(resolve));
    c.socket.write('ld\r');
    await new Promise((resolve) => setImmediate(resolve));
    c.socket.write('\nsecond\r\n\n');
    assert.deepEqual(await c.lines(3), ['Echo: 你好 world', 'Echo: second', 'Echo: ']);
    c.socket.end();
    await c.ended;
  });

  test('a line over maxLineLength gets an error line and the connection is closed', async () => {
    const server = await start({ maxLineLength: 8 });
    const c = await client(server);
    c.socket.write('12345678\n123456789\nnever\n');
    const text = await c.ended;
    assert.equal(text, 'Echo: 12345678\nError: line too long (max 8 bytes)\n');
    await c.serverClosed();
    assert.equal(server.connections, 0);
  });

  test('an unterminated line over maxLineLength is refused without waiting for its end', async () => {
    const server = await start({ maxLineLength: 16 });
    const c = await client(server);
    c.socket.write('x'.repeat(100));
    assert.equal(await c.ended, 'Error: line too long (max 16 bytes)\n');
  });

  // Real time: the idle timeout is the socket's own (socket.setTimeout), which no clock drives.
  // 30 ms keeps the test short; nothing asserts how long it took, only that the server closed.
  test('an idle connection gets a notice and is closed', async () => {
    // Real time (the socket's own timer): nothing is sent, so a slow machine cannot race the timer.
    const server = await start({ idleTimeoutMs: 30 });
    const c = await client(server);
    assert.equal(await c.ended, 'Error: idle timeout\n');
    await c.serverClosed();
    assert.equal(server.connections, 0);
  });

  test('backpressure: a client that never reads is paused, and the server buffers a bounded amount', async () => {
    const server = await start();
    const c = await client(server);
    const serverSide = await c.serverSide;
    c.socket.pause();
    let paused = false;
    const pausedEvent = once(serverSide, 'pause').then(() => {
      paused = true;
    });
    // "x\n" → "Echo: x\n": four times the bytes back, so the replies fill the buffers first.
    const chunk = Buffer.from('x\n'.repeat(32 * 1024));
    let sent = 0;
    while (!paused) {
      sent += chunk.length / 2;
      if (!c.socket.write(chunk)) await Promise.race([once(c.socket, 'drain'), pausedEvent]);
    }
    assert.equal(server.stats().paused, 1);
    assert.ok(serverSide.isPaused());
    // At most the high-water mark plus the replies to one read (≤ 64 KiB in, 4× out).
    assert.ok(serverSide.writableLength <= serverSide.writableHighWaterMark + 4 * 64 * 1024, `writableLength ${serverSide.writableLength}`);

    // Once the client reads, the server resumes and every line is answered.
    const resumed = once(serverSide, 'resume');
    c.socket.resume();
    await resumed;
    await c.lines(sent);
    assert.equal(c.text.length, sent * 'Echo: x\n'.length);
    assert.equal(server.stats().paused, 0);
    assert.equal(server.stats().lines, sent);
    c.socket.end();
    await c.ended;
  });

  test('serves 2,000 concurrent connections', async () => {
    const server = await start();
    const count = 2000;
    const all = await Promise.all(
      Array.from({ length: count }, async () => {
        const socket = connect(server.port, '127.0.0.1');
        clients.push(socket);
        await once(socket, 'connect');
        socket.setEncoding('utf8');
        return socket;
      }),
    );
    const replies = await Promise.all(
      all.map(async (socket, i) => {
        socket.write(`n${i}\n`);
        const [reply] = await once(socket, 'data');
        return reply as string;
      }),
    );
    assert.deepEqual(replies, all.map((_, i) => `Echo: n${i}\n`));
    assert.equal(server.connections, count);
    await server.close();
    assert.equal(server.connections, 0);
    assert.equal(server.stats().accepted, count);
  });

  test('maxConnections refuses connections beyond the limit', async () => {
    const server = await start({ maxConnections: 1 });
    const first = await client(server);
    first.socket.write('a\n');
    await first.lines(1);
    const second = await client(server);
    assert.equal(await second.ended, '');
    first.socket.write('b\n');
    assert.deepEqual(await first.lines(2), ['Echo: a', 'Echo: b']);
    assert.equal(server.stats().accepted, 1);
  });

  test('close() stops accepting, ends every connection, and resolves when all are closed', async () => {
    const server = await start();
    const a = await client(server);
    const b = await client(server);
    a.socket.write('one\n');
    await a.lines(1);
    await b.lines(0);
    assert.equal(server.connections, 2);
    await server.close();
    assert.equal(await a.ended, 'Echo: one\n');
    await b.ended;
    assert.equal(server.connections, 0);
    assert.equal(server.server.listening, false);
    await assert.rejects(client(server), { code: 'ECONNREFUSED' });
    assert.equal(await server.close(), undefined, 'close() twice is fine');
  });

  test('close() destroys connections still open when the grace period ends', async () => {
    const clock = new VirtualClock();
    const server = await start({ clock });
    // A client that sends and never reads: the replies cannot be flushed, so only the grace
    // period can end it (an idle client that merely keeps its socket open closes at once).
    const c = await client(server, { allowHalfOpen: true });
    c.socket.pause();
    const line = `${'x'.repeat(1023)}\n`;
    // The server may pause while this client waits for 'drain' (which then never comes): wait for
    // whichever happens first.
    const serverPaused = async (signal: AbortSignal) => {
      while (server.stats().paused === 0 && !signal.aborted) await new Promise((r) => setTimeout(r, 2));
    };
    while (server.stats().paused === 0) {
      if (c.socket.write(line.repeat(64))) continue;
      const stop = new AbortController();
      await Promise.race([once(c.socket, 'drain', { signal: stop.signal }).catch(() => {}), serverPaused(stop.signal)]);
      stop.abort();
    }
    const closing = server.close({ graceMs: 1000 });
    assert.equal(server.connections, 1);
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(1000);
    await closing;
    assert.equal(server.connections, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  test('an aborted signal closes the server', async () => {
    const controller = new AbortController();
    const server = await start({ signal: controller.signal });
    controller.abort();
    assert.equal(server.state, 'closing');
    await server.close();
    assert.equal(server.state, 'closed');
  });

  test('await using closes the server', async () => {
    let ref: EchoServer;
    {
      await using server = await start();
      ref = server;
    }
    assert.equal(ref.state, 'closed');
  });

  test('a port in use rejects the start', async () => {
    const server = await start();
    await assert.rejects(startEchoServer({ port: server.port }), { code: 'EADDRINUSE' });
  });

  test('options are checked', async () => {
    await assert.rejects(startEchoServer({ port: 70000 }), InvalidArgumentError);
    await assert.rejects(startEchoServer({ maxLineLength: 0 }), /Expected `maxLineLength` to be an integer ≥ 1, got 0/);
    await assert.rejects(startEchoServer({ idleTimeoutMs: -1 }), InvalidArgumentError);
  });
});

// The seeds' own TCP clients as peers (seed 003's echo, seed 004's chat): data is never dropped
// silently, the seed's anonymous chat is offered, and shutdown does not wait on idle clients.
// (The seeds' Python clients are one socket each, reading until EOF; these are their ports.)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { startChatServer } from '../../src/tcp/chat-server.ts';
import { startEchoServer } from '../../src/tcp/echo-server.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';

const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
});

/** Connects; resolves with the socket and a promise of everything received until the server closes. */
async function peer(port: number) {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  sockets.push(socket);
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  let text = '';
  socket.on('data', (chunk: string) => {
    text += chunk;
  });
  const ended = new Promise<string>((resolve) => socket.once('end', () => resolve(text)));
  return { socket, ended, text: () => text };
}

test("echo - printf 'a\\nb' | nc: the unterminated last line is echoed at EOF", async () => {
  await using server = await startEchoServer();
  const c = await peer(server.port);
  c.socket.end('a\nb');
  assert.equal(await c.ended, 'Echo: a\nEcho: b\n');
});

test('echo - close() does not wait the grace period for a client that merely keeps its socket open', { timeout: 10_000 }, async () => {
  const clock = new VirtualClock();
  const server = await startEchoServer({ clock });
  const c = await peer(server.port);
  c.socket.write('hi\n');
  while (!c.text().includes('Echo: hi')) await once(c.socket, 'data');
  // The clock never advances: close() can only resolve if it does not wait for the grace timer.
  await server.close({ graceMs: 60_000 });
  assert.equal(server.connections, 0);
});

test('chat - close() does not wait the grace period for idle clients', { timeout: 10_000 }, async () => {
  const clock = new VirtualClock();
  const server = await startChatServer({ clock, rateLimit: false });
  const c = await peer(server.port);
  while (!c.text().includes('nickname')) await once(c.socket, 'data');
  await server.close({ graceMs: 60_000 });
  assert.match(await c.ended, /Server shutting down/);
});

test("chat - anonymous: the seed's client (no nickname step) is named by its address; every line is a message", async () => {
  await using server = await startChatServer({ anonymous: true, rateLimit: false });
  const a = await peer(server.port);
  const b = await peer(server.port);
  while (server.users().length < 2) await new Promise((r) => setImmediate(r));
  // A sentence (not a valid nickname) and a line starting with '/' are both messages.
  a.socket.write('Hello everyone, how are you?\n/who is there\n');
  const expected = `127.0.0.1:${a.socket.localPort}: Hello everyone, how are you?\n127.0.0.1:${a.socket.localPort}: /who is there\n`;
  while (b.text().length < expected.length) await once(b.socket, 'data');
  assert.equal(b.text(), expected);
  assert.equal(a.text(), '', 'the sender gets no prompt and no echo, as with the seed');
});

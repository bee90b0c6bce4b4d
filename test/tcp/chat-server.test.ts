import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { type ChatServer, type ChatServerOptions, startChatServer } from '../../src/tcp/chat-server.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { type LineClient, lineClient } from './line-client.ts';

const servers: ChatServer[] = [];
const sockets: Socket[] = [];

after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => s.destroy()));
});

async function start(options: ChatServerOptions = {}): Promise<ChatServer> {
  const server = await startChatServer(options);
  servers.push(server);
  return server;
}

const PROMPT = '* Welcome! Choose a nickname:';

/** Connects and joins as `nick`, consuming the prompt and the greeting. */
async function join(server: ChatServer, nick: string): Promise<LineClient> {
  const c = await lineClient(server, sockets);
  assert.equal(await c.next(), PROMPT);
  c.send(nick);
  assert.match(await c.next(), new RegExp(`^\\* Hello ${nick}, \\d+ users? online\\.`));
  return c;
}

describe('startChatServer', { timeout: 10_000 }, () => {
  test('asks for a nickname, greets, and announces the join to the others with the count', async () => {
    const server = await start();
    const alice = await join(server, 'alice');
    const bob = await lineClient(server, sockets);
    assert.equal(await bob.next(), PROMPT);
    bob.send('bob');
    assert.equal(await bob.next(), '* Hello bob, 2 users online. Commands: /nick <name>, /who, /quit');
    assert.equal(await alice.next(), '* bob joined (2 users)');
    assert.deepEqual(server.users(), ['alice', 'bob']);
  });

  test('a message goes to everyone but the sender', async () => {
    const server = await start();
    const alice = await join(server, 'alice');
    const bob = await join(server, 'bob');
    const carol = await join(server, 'carol');
    assert.equal(await alice.next(), '* bob joined (2 users)');
    assert.equal(await alice.next(), '* carol joined (3 users)');
    assert.equal(await bob.next(), '* carol joined (3 users)');
    alice.send('hi all');
    assert.equal(await bob.next(), 'alice: hi all');
    assert.equal(await carol.next(), 'alice: hi all');
    // The next line alice gets is her /who answer: her own message was not sent back to her.
    alice.send('/who');
    assert.equal(await alice.next(), '* Users (3): alice, bob, carol');
    assert.equal(server.stats().messages, 1);
  });

  test('a taken or invalid nickname gets an error and the prompt again', async () => {
    const server = await start();
    await join(server, 'alice');
    const c = await lineClient(server, sockets);
    assert.equal(await c.next(), PROMPT);
    c.send('alice');
    assert.equal(await c.next(), '! Nickname "alice" is taken');
    assert.equal(await c.next(), PROMPT);
    c.send('no spaces allowed');
    assert.match(await c.next(), /^! Invalid nickname/);
    assert.equal(await c.next(), PROMPT);
    c.send('alice2');
    assert.match(await c.next(), /^\* Hello alice2, 2 users online/);
  });

  test('/nick renames and tells everyone; /quit says bye, closes, and the others see the count drop', async () => {
    const server = await start();
    const alice = await join(server, 'alice');
    const bob = await join(server, 'bob');
    await alice.next(); // bob joined
    bob.send('/nick alice');
    assert.equal(await bob.next(), '! Nickname "alice" is taken');
    bob.send('/nick robert');
    assert.equal(await bob.next(), '* bob is now robert');
    assert.equal(await alice.next(), '* bob is now robert');
    bob.send('/frobnicate');
    assert.match(await bob.next(), /^! Unknown command: \/frobnicate\./);
    bob.send('/quit');
    assert.equal(await bob.next(), '* Bye!');
    await bob.closed;
    assert.equal(await alice.next(), '* robert left (1 user)');
    assert.deepEqual(server.users(), ['alice']);
  });

  test('a client that disconnects is announced as having left', async () => {
    const server = await start();
    const alice = await join(server, 'alice');
    const bob = await join(server, 'bob');
    await alice.next();
    bob.socket.destroy();
    assert.equal(await alice.next(), '* bob left (1 user)');
  });

  test('rate limit: lines over the quota are refused with a notice; the quota refills with time', async () => {
    const clock = new VirtualClock();
    const server = await start({ clock, rateLimit: { limit: 3, interval: 1000 } });
    const bob = await join(server, 'bob');
    const alice = await join(server, 'alice'); // the nickname line takes one of alice's three
    await bob.next(); // alice joined
    alice.send('one');
    alice.send('two');
    alice.send('three');
    assert.equal(await alice.next(), '! Rate limit exceeded: message not sent');
    await clock.advance(1000);
    alice.send('four');
    assert.equal(await bob.next(), 'alice: one');
    assert.equal(await bob.next(), 'alice: two');
    assert.equal(await bob.next(), 'alice: four');
    assert.equal(server.stats().rateLimited, 1);
  });

  test('a client that does not read is dropped once its send buffer passes the bound; the others are told', async () => {
    const sendBufferBytes = 64 * 1024;
    const server = await start({ sendBufferBytes, rateLimit: false, maxLineLength: 64 * 1024 });
    const slow = await join(server, 'slow');
    const slowServerSide = await slow.serverSide;
    const sender = await join(server, 'sender');
    const watcher = await join(server, 'watcher');
    await slow.next();
    await slow.next();
    await sender.next(); // watcher joined
    slow.socket.pause();

    const line = 'x'.repeat(32 * 1024);
    let notice: string | undefined;
    let largest = 0;
    let sent = 0;
    while (notice === undefined) {
      sender.send(line);
      sent++;
      // The watcher reads everything; each relayed line paces the flood.
      const got = await watcher.next();
      largest = Math.max(largest, slowServerSide.writableLength);
      if (got !== `sender: ${line}`) notice = got;
      assert.ok(sent < 10_000, 'the slow client was never dropped');
    }
    assert.equal(notice, '* slow was disconnected: too slow');
    // Bounded: at most the cap plus one message over it when the drop happened.
    assert.ok(largest <= sendBufferBytes + line.length + 100, `largest ${largest}`);
    assert.ok(slowServerSide.destroyed);
    assert.equal(server.stats().dropped, 1);
    assert.deepEqual(server.users(), ['sender', 'watcher']);
  });

  test('a line over maxLineLength gets a notice and closes the connection', async () => {
    const server = await start({ maxLineLength: 10 });
    const alice = await join(server, 'alice');
    const bob = await join(server, 'bob');
    await alice.next();
    bob.send('this line is far too long');
    assert.equal(await bob.next(), '! Line too long (max 10 bytes)');
    await bob.closed;
    assert.equal(await alice.next(), '* bob left (1 user)');
  });

  // Real time: the idle timeout is the socket's own (socket.setTimeout), which no clock drives.
  // 30 ms keeps the test short; nothing asserts how long it took.
  test('an idle client gets a notice and is closed', async () => {
    const server = await start({ idleTimeoutMs: 30 });
    const c = await lineClient(server, sockets);
    assert.equal(await c.next(), PROMPT);
    assert.equal(await c.next(), '! Idle timeout');
    await c.closed;
  });

  test('close() tells every client the server is shutting down and closes them', async () => {
    const server = await start();
    const alice = await join(server, 'alice');
    const bob = await join(server, 'bob');
    await alice.next();
    await server.close();
    assert.equal(server.state, 'closed');
    assert.equal(await alice.next(), '* Server shutting down');
    assert.equal(await bob.next(), '* Server shutting down');
    assert.deepEqual(await alice.closed, []);
    assert.deepEqual(await bob.closed, []);
    assert.equal(server.connections, 0);
    assert.equal(server.server.listening, false);
  });

  test('options are checked', async () => {
    await assert.rejects(startChatServer({ sendBufferBytes: 0 }), InvalidArgumentError);
    await assert.rejects(startChatServer({ rateLimit: { limit: 0, interval: 1000 } }), InvalidArgumentError);
    await assert.rejects(startChatServer({ port: -1 }), InvalidArgumentError);
  });

  test('await using closes the server', async () => {
    let ref: ChatServer;
    {
      await using server = await start();
      ref = server;
    }
    assert.equal(ref.state, 'closed');
  });
});

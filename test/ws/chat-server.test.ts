import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import WebSocket from 'ws';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { WsClient } from '../../src/ws/client.ts';
import { type WsChatServer, type WsChatServerOptions, startWsChatServer } from '../../src/ws/chat-server.ts';
import type { Envelope } from '../../src/ws/protocol.ts';

const servers: WsChatServer[] = [];
const sockets: WebSocket[] = [];

after(async () => {
  for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
  await Promise.all(servers.map((s) => s.destroy()));
});

async function start(options: WsChatServerOptions = {}): Promise<WsChatServer> {
  const server = await startWsChatServer(options);
  servers.push(server);
  return server;
}

interface Peer {
  readonly ws: WebSocket;
  /** The server's side of this connection. */
  readonly serverSide: Promise<WebSocket>;
  next(): Promise<Envelope>;
  /** Skips envelopes until one of `type` arrives. */
  nextOf(type: string): Promise<Envelope>;
  readonly closed: Promise<{ code: number; reason: string }>;
  send(value: unknown): void;
}

async function connect(server: WsChatServer, query = '', options: WebSocket.ClientOptions = {}): Promise<Peer> {
  const serverSide = once(server.wss, 'connection').then(([ws]) => ws as WebSocket);
  const ws = new WebSocket(`${server.url}${query}`, options);
  sockets.push(ws);
  const queue: Envelope[] = [];
  const waiters: ((e: Envelope) => void)[] = [];
  ws.on('message', (data) => {
    const e = JSON.parse(String(data)) as Envelope;
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(e);
    else queue.push(e);
  });
  ws.on('error', () => {});
  const closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
  await once(ws, 'open');
  const next = () => {
    const e = queue.shift();
    return e !== undefined ? Promise.resolve(e) : new Promise<Envelope>((resolve) => waiters.push(resolve));
  };
  return {
    ws,
    serverSide,
    next,
    async nextOf(type) {
      for (;;) {
        const e = await next();
        if (e.type === type) return e;
      }
    },
    closed,
    send: (value) => ws.send(typeof value === 'string' ? value : JSON.stringify(value)),
  };
}

const msg = (payload: unknown, extra: Record<string, unknown> = {}) => ({ type: 'message', payload, timestamp: Date.now(), ...extra });

describe('startWsChatServer', { timeout: 10_000 }, () => {
  test('join and leave are broadcast to the room with the user count', async () => {
    const server = await start();
    const ann = await connect(server, '?nick=ann');
    assert.deepEqual((await ann.next()).payload, { nick: 'ann', room: 'lobby', users: 1 });
    const bob = await connect(server, '?nick=bob');
    const joined = await ann.next();
    assert.equal(joined.type, 'join');
    assert.deepEqual(joined.payload, { nick: 'bob', room: 'lobby', users: 2 });
    assert.equal(typeof joined.timestamp, 'number');
    assert.deepEqual((await bob.next()).payload, { nick: 'bob', room: 'lobby', users: 2 });
    assert.deepEqual(server.users(), ['ann', 'bob']);
    bob.ws.close();
    const left = await ann.next();
    assert.equal(left.type, 'leave');
    assert.deepEqual(left.payload, { nick: 'bob', room: 'lobby', users: 1, reason: 'closed' });
  });

  test('a message is relayed to everyone in the room, sender included, with from and room', async () => {
    const server = await start();
    const ann = await connect(server, '?nick=ann');
    const bob = await connect(server, '?nick=bob');
    const other = await connect(server, '?nick=zed&room=elsewhere');
    ann.send(msg('hello', { id: 'm1' }));
    for (const peer of [ann, bob]) {
      const e = await peer.nextOf('message');
      assert.deepEqual({ ...e, timestamp: 0 }, { type: 'message', payload: 'hello', from: 'ann', room: 'lobby', id: 'm1', timestamp: 0 });
    }
    // zed's next envelope after its own join is the answer to its ping: nothing from the lobby.
    assert.equal((await other.next()).type, 'join');
    other.send({ type: 'ping', payload: 7 });
    assert.deepEqual({ ...(await other.next()), timestamp: 0 }, { type: 'pong', payload: 7, timestamp: 0 });
    assert.equal(server.stats().messages, 1);
  });

  test('a join envelope moves a peer to another room: leave in the old one, join in the new one', async () => {
    const server = await start();
    const ann = await connect(server, '?nick=ann');
    const bob = await connect(server, '?nick=bob&room=dev');
    await bob.nextOf('join');
    ann.send({ type: 'join', payload: { room: 'dev' } });
    assert.deepEqual((await bob.nextOf('join')).payload, { nick: 'ann', room: 'dev', users: 2 });
    assert.deepEqual(server.users('dev'), ['bob', 'ann']);
    assert.deepEqual(server.rooms(), ['dev']);
    ann.send({ type: 'join', payload: { room: 'bad room!' } });
    assert.equal(((await ann.nextOf('error')).payload as { code: string }).code, 'bad-room');
  });

  test('nicknames: a taken one gets an error and a guest name; nick renames and tells the room', async () => {
    const server = await start();
    const ann = await connect(server, '?nick=ann');
    const dup = await connect(server, '?nick=ann');
    assert.equal(((await dup.next()).payload as { code: string }).code, 'nick-taken');
    assert.equal(((await dup.next()).payload as { nick: string }).nick, 'guest-1');
    dup.send({ type: 'nick', payload: 'dee' });
    assert.deepEqual((await ann.nextOf('nick')).payload, { old: 'guest-1', nick: 'dee', room: 'lobby' });
    assert.deepEqual(server.users(), ['ann', 'dee']);
  });

  test('bad JSON and bad envelopes get an error envelope; too many in a row close with 1008', async () => {
    const server = await start({ maxViolations: 3 });
    const ann = await connect(server);
    await ann.next();
    ann.send('{not json');
    assert.deepEqual((await ann.next()).payload, { code: 'bad-json', message: 'Frame is not valid JSON' });
    ann.send({ payload: 'no type' });
    assert.equal(((await ann.next()).payload as { code: string }).code, 'bad-envelope');
    ann.send({ type: 'frobnicate' });
    assert.equal(((await ann.next()).payload as { code: string }).code, 'unknown-type');
    assert.deepEqual(await ann.closed, { code: 1008, reason: 'too many invalid messages' });
  });

  test('a good envelope resets the violation count', async () => {
    const server = await start({ maxViolations: 2 });
    const ann = await connect(server);
    await ann.next();
    ann.send('{nope');
    await ann.nextOf('error');
    ann.send(msg('fine'));
    await ann.nextOf('message');
    ann.send('{nope');
    await ann.nextOf('error');
    ann.send({ type: 'ping' });
    assert.equal((await ann.next()).type, 'pong');
    assert.equal(ann.ws.readyState, WebSocket.OPEN);
  });

  test('a frame over maxPayload closes with 1009; a binary frame closes with 1003', async () => {
    const server = await start({ maxPayload: 1024 });
    const big = await connect(server);
    big.send(msg('x'.repeat(2000)));
    assert.equal((await big.closed).code, 1009);
    const binary = await connect(server);
    binary.ws.send(Buffer.from([1, 2, 3]));
    assert.equal((await binary.closed).code, 1003);
  });

  test('rate limit: envelopes over the quota are refused with an error; the quota refills with time', async () => {
    const clock = new VirtualClock();
    const server = await start({ clock, heartbeatMs: 0, rateLimit: { limit: 2, interval: 1000 } });
    const ann = await connect(server, '?nick=ann');
    await ann.next();
    ann.send(msg('one'));
    ann.send(msg('two'));
    ann.send(msg('three', { seq: 1 }));
    assert.equal((await ann.nextOf('message')).payload, 'one');
    assert.equal((await ann.nextOf('message')).payload, 'two');
    assert.deepEqual((await ann.nextOf('error')).payload, { code: 'rate-limited', message: 'Rate limit exceeded: message not sent', seq: 1 });
    await clock.advance(1000);
    ann.send(msg('four'));
    assert.equal((await ann.nextOf('message')).payload, 'four');
    assert.equal(server.stats().rateLimited, 1);
  });

  test('seq: each envelope is acknowledged, and a duplicate from the same client id is dropped across reconnects', async () => {
    const server = await start();
    const watcher = await connect(server, '?nick=watcher');
    const first = await connect(server, '?nick=ann&client=c1');
    first.send([msg('a', { seq: 1 }), msg('b', { seq: 2 })]);
    assert.deepEqual(await first.nextOf('ack'), { type: 'ack', seq: 2 });
    first.ws.close();
    await first.closed;
    const again = await connect(server, '?nick=ann&client=c1');
    again.send(msg('b', { seq: 2 }));
    assert.deepEqual(await again.nextOf('ack'), { type: 'ack', seq: 2 });
    again.send(msg('c', { seq: 3 }));
    assert.deepEqual(await again.nextOf('ack'), { type: 'ack', seq: 3 });
    const relayed: unknown[] = [];
    while (relayed.length < 3) {
      const e = await watcher.next();
      if (e.type === 'message') relayed.push(e.payload);
    }
    assert.deepEqual(relayed, ['a', 'b', 'c']);
    assert.equal(server.stats().duplicates, 1);
  });

  test('with spate\'s WsClient (reliable, batched): a connection cut mid-stream loses and duplicates nothing', async () => {
    const server = await start({ rateLimit: false, heartbeatMs: 0 });
    const watcher = await connect(server, '?nick=watcher');
    await watcher.next();
    let cut = false;
    server.wss.once('connection', (serverSide: WebSocket) => {
      let frames = 0;
      // Registered after the server's own listener: the frame is handled (and its ack queued),
      // then the connection dies, so the client resends envelopes the server has already seen.
      serverSide.on('message', () => {
        if (++frames === 3 && !cut) {
          cut = true;
          serverSide.terminate();
        }
      });
    });
    const client = new WsClient(`${server.url}?nick=sender`, {
      reliable: true,
      clientId: 'sender-1',
      batch: { maxMessages: 5, maxDelayMs: 1 },
      heartbeatMs: 0,
      reconnect: { base: 1, max: 5 },
    });
    try {
      await client.open();
      const count = 60;
      for (let i = 0; i < count; i++) client.send('message', i);
      await client.flush();
      const relayed: unknown[] = [];
      while (relayed.length < count) {
        const e = await watcher.next();
        if (e.type === 'message') relayed.push(e.payload);
      }
      assert.ok(cut);
      assert.deepEqual(relayed, Array.from({ length: count }, (_, i) => i));
      assert.ok(client.stats().reconnects >= 1);
    } finally {
      client.destroy();
    }
  });

  test('heartbeat terminates a peer that does not answer pings and keeps one that does', async () => {
    const clock = new VirtualClock();
    const server = await start({ clock, heartbeatMs: 1000 });
    const watcher = await connect(server, '?nick=watcher');
    const live = await connect(server, '?nick=live');
    const liveServerSide = await live.serverSide;
    const dead = await connect(server, '?nick=dead', { autoPong: false });
    await watcher.nextOf('join');
    await watcher.nextOf('join');
    await watcher.nextOf('join');
    const pinged = Promise.all([once(dead.ws, 'ping'), once(liveServerSide, 'pong')]);
    await clock.advance(1000);
    await pinged;
    await clock.advance(1000);
    assert.equal((await dead.closed).code, 1006);
    assert.deepEqual((await watcher.nextOf('leave')).payload, { nick: 'dead', room: 'lobby', users: 2, reason: 'closed' });
    assert.equal(live.ws.readyState, WebSocket.OPEN);
    assert.equal(server.stats().timedOut, 1);
    assert.equal(clock.pendingTimers, 1, 'one heartbeat timer for the whole server');
    await server.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('a peer that does not read is closed with 1013 once bufferedAmount passes the cap; the room is told', async () => {
    const maxBufferedBytes = 64 * 1024;
    const server = await start({ maxBufferedBytes, rateLimit: false, maxPayload: 64 * 1024 });
    const slow = await connect(server, '?nick=slow');
    const slowServerSide = await slow.serverSide;
    const sender = await connect(server, '?nick=sender');
    const watcher = await connect(server, '?nick=watcher');
    await watcher.nextOf('join');
    slow.ws.pause();
    const text = 'x'.repeat(32 * 1024);
    let largest = 0;
    let leave: Envelope | undefined;
    for (let sent = 0; leave === undefined; sent++) {
      assert.ok(sent < 10_000, 'the slow peer was never dropped');
      sender.send(msg(text));
      const e = await watcher.next();
      largest = Math.max(largest, slowServerSide.bufferedAmount);
      if (e.type === 'leave') leave = e;
    }
    assert.deepEqual(leave.payload, { nick: 'slow', room: 'lobby', users: 2, reason: 'too slow' });
    assert.ok(largest <= maxBufferedBytes + text.length + 200, `largest ${largest}`);
    assert.deepEqual(server.users(), ['sender', 'watcher']);
    slow.ws.resume();
    assert.deepEqual(await slow.closed, { code: 1013, reason: 'too slow' });
    assert.equal(server.stats().slow, 1);
  });

  test('close() closes every peer with 1001 and a reason, then stops', async () => {
    const server = await start();
    const ann = await connect(server, '?nick=ann');
    const bob = await connect(server, '?nick=bob');
    await server.close();
    assert.equal(server.state, 'closed');
    assert.deepEqual(await ann.closed, { code: 1001, reason: 'server shutting down' });
    assert.deepEqual(await bob.closed, { code: 1001, reason: 'server shutting down' });
    assert.equal(server.connections, 0);
    assert.equal(server.server.listening, false);
  });

  test('close() terminates peers that do not finish the closing handshake within graceMs', async () => {
    const clock = new VirtualClock();
    const server = await start({ clock, heartbeatMs: 0 });
    const stuck = await connect(server);
    stuck.ws.pause();
    const closing = server.close({ graceMs: 500 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(server.connections, 1);
    await clock.advance(500);
    await closing;
    assert.equal(server.connections, 0);
    assert.equal(clock.pendingTimers, 0);
  });

  test('plain HTTP gets 426; another path is refused', async () => {
    const server = await start({ path: '/chat' });
    const [res] = await once(request(`http://${server.address}/chat`).end(), 'response');
    assert.equal(res.statusCode, 426);
    res.resume();
    const ws = new WebSocket(`ws://${server.address}/other`);
    ws.on('error', () => {});
    const [, response] = await once(ws, 'unexpected-response');
    assert.equal(response.statusCode, 400);
    response.resume();
  });

  test('a port in use rejects the start', async () => {
    const server = await start();
    await assert.rejects(startWsChatServer({ port: server.port }), { code: 'EADDRINUSE' });
  });

  test('options are checked', async () => {
    await assert.rejects(startWsChatServer({ heartbeatMs: -1 }), InvalidArgumentError);
    await assert.rejects(startWsChatServer({ path: 'chat' }), InvalidArgumentError);
    await assert.rejects(startWsChatServer({ maxBufferedBytes: 0 }), InvalidArgumentError);
    await assert.rejects(startWsChatServer({ rateLimit: { limit: 0, interval: 1 } }), InvalidArgumentError);
  });
});

test('textFrame - the header RFC 6455 gives a server text frame of 7-bit, 16-bit and 64-bit length', async () => {
  const { textFrame } = await import('../../src/ws/chat-server.ts');
  for (const n of [0, 125, 126, 65_535, 65_536, 70_000]) {
    const data = Buffer.alloc(n, 0x61);
    const f = textFrame(data);
    assert.equal(f[0], 0x81);
    const len = f[1]! & 0x7f;
    assert.equal(f[1]! & 0x80, 0, 'not masked');
    const [size, head] = len < 126 ? [len, 2] : len === 126 ? [f.readUInt16BE(2), 4] : [f.readUInt32BE(2) * 2 ** 32 + f.readUInt32BE(6), 10];
    assert.equal(size, n);
    assert.equal(f.length, head + n);
    assert.ok(f.subarray(head).equals(data));
  }
});

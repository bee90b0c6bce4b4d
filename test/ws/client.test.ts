import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ClosedError, InvalidArgumentError, QueueFull, TimeoutError } from '../../src/core/errors.ts';
import { VirtualClock } from '../../src/testing/virtual-clock.ts';
import { type WsClientEvents, type WsClientOptions, WsClient, type WsMessage } from '../../src/ws/client.ts';
import { once as onceEvent } from 'node:events';
import { AckServer, type AckServerOptions, deadPort, until } from './ack-server.ts';

// Real sockets on 127.0.0.1; time (heartbeat, backoff, batch delay) on a VirtualClock, so every
// reconnect happens when the test fires it. The handshake deadline is off: the virtual clock
// must not race a real TCP connect.
const servers: AckServer[] = [];
const clients: WsClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await s.kill();
});

async function server(options?: AckServerOptions): Promise<AckServer> {
  const s = await AckServer.start(options);
  servers.push(s);
  return s;
}

function client(url: string, clock: VirtualClock, options: WsClientOptions = {}): WsClient {
  const c = new WsClient(url, {
    clock,
    heartbeatMs: 0,
    connectTimeoutMs: Infinity,
    reconnect: { base: 100, max: 1000, jitter: 'none' },
    ...options,
  });
  clients.push(c);
  return c;
}

/** Fires the next timer on `clock` (the pending reconnect). */
async function fireNext(clock: VirtualClock): Promise<void> {
  const due = clock.nextDue();
  assert.notEqual(due, undefined, 'a timer is pending');
  await clock.advance(due! - clock.now());
}

/** Like `events.once`, without rejecting on 'error' (the client emits those while it retries). */
function once<K extends 'open' | 'reconnecting' | 'close'>(c: WsClient, name: K): Promise<WsClientEvents[K]> {
  return new Promise((resolve) => c.once(name, ((...args: WsClientEvents[K]) => resolve(args)) as never));
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('WsClient', { timeout: 20_000 }, () => {
  test('send() then flush() - a reliable client gets every message acknowledged', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true });
    await c.open();
    for (const i of range(1, 20)) c.send('n', i);
    await c.flush();
    assert.deepEqual(s.payloads(), range(1, 20));
    assert.deepEqual(s.received.map((r) => r.seq), range(1, 20));
    assert.equal(s.received[0]!.client, c.clientId);
    assert.equal(c.stats().unacked, 0);
    assert.equal(c.stats().buffered, 0);
    await c.close();
  });

  test('reliable - the server is killed and restarted mid-stream; every message arrives exactly once, in order', async () => {
    const s = await server({ ack: false });
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true });
    await c.open();
    for (const i of range(1, 100)) c.send('n', i);
    await s.waitReceived(50);
    const reconnecting = once(c, 'reconnecting');
    await s.kill();
    await reconnecting;
    assert.equal(c.state, 'reconnecting');
    for (const i of range(101, 200)) c.send('n', i);
    assert.equal(c.stats().buffered, 200, 'nothing was acknowledged, so all 200 are held');
    await s.restart({ ack: true });
    const opened = once(c, 'open');
    await fireNext(clock);
    assert.deepEqual((await opened)[0], { reconnect: true });
    for (const i of range(201, 250)) c.send('n', i);
    await c.flush();
    assert.deepEqual(s.payloads(), range(1, 250));
    assert.ok(s.duplicates >= 50, `the resend overlapped what had arrived (${s.duplicates} duplicates dropped)`);
    assert.equal(c.stats().reconnects, 1);
    assert.equal(c.stats().unacked, 0);
    await c.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('reliable - repeated kills: still exactly once and in order', async () => {
    const s = await server({ ack: false });
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true });
    await c.open();
    let next = 1;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 30; i++) c.send('n', next++);
      await s.waitReceived(s.received.length + 10);
      const reconnecting = once(c, 'reconnecting');
      await s.kill();
      await reconnecting;
      await s.restart({ ack: round === 2 });
      const opened = once(c, 'open');
      await fireNext(clock);
      await opened;
    }
    await c.flush();
    assert.deepEqual(s.payloads(), range(1, 90));
    assert.equal(c.stats().reconnects, 3);
    await c.close();
  });

  test('not reliable - messages written before a kill may be lost; later ones are sent after the reconnect', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock);
    await c.open();
    c.send('n', 1);
    await c.flush();
    await s.waitReceived(1);
    const reconnecting = once(c, 'reconnecting');
    await s.kill();
    await reconnecting;
    c.send('n', 2);
    await s.restart();
    await fireNext(clock);
    await c.flush();
    await s.waitReceived(2);
    assert.deepEqual(s.payloads(), [1, 2]);
    assert.equal(s.received[1]!.seq, undefined);
    await c.close();
  });

  test('heartbeat - a server that stops answering pings is detected and the client reconnects', async () => {
    const s = await server({ autoPong: false });
    const clock = new VirtualClock();
    const c = client(s.url, clock, { heartbeatMs: 1000, pongTimeoutMs: 500 });
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    await c.open();
    const reconnecting = once(c, 'reconnecting');
    await clock.advance(1000);
    assert.equal(c.state, 'open', 'a ping is out; the deadline has not passed');
    await clock.advance(499);
    assert.equal(c.state, 'open');
    await clock.advance(1);
    const [info] = await reconnecting;
    assert.ok(info.error instanceof TimeoutError);
    assert.ok(errors.some((e) => e instanceof TimeoutError));
    await s.kill();
    await s.restart({ autoPong: true });
    const opened = once(c, 'open');
    await fireNext(clock);
    await opened;
    assert.equal(c.stats().reconnects, 1);
    await c.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('heartbeat - a server that answers pings keeps the connection', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock, { heartbeatMs: 1000, pongTimeoutMs: 500 });
    await c.open();
    for (let beat = 1; beat <= 3; beat++) {
      await clock.advance(1000);
      // The pong has arrived once the next heartbeat is armed a full interval ahead.
      await until(() => clock.nextDue() === clock.now() + 1000);
    }
    await clock.advance(999);
    assert.equal(c.state, 'open');
    assert.equal(c.stats().reconnects, 0);
    assert.equal(s.connections, 1);
    await c.close();
  });

  /** Records every 'reconnecting' event; `nth(i)` waits for the i-th (from 1). */
  function recorder(c: WsClient) {
    const events: WsClientEvents['reconnecting'][0][] = [];
    c.on('reconnecting', (info) => events.push(info));
    return { events, nth: async (i: number) => (await until(() => events.length >= i), events[i - 1]!) };
  }

  test('reconnect - delays grow exponentially and are capped (jitter none)', async () => {
    const port = await deadPort();
    const clock = new VirtualClock();
    const c = client(`ws://127.0.0.1:${port}/`, clock, { reconnect: { base: 500, max: 30_000, jitter: 'none' } });
    const { events, nth } = recorder(c);
    for (let i = 1; i <= 9; i++) {
      assert.equal((await nth(i)).attempt, i);
      await fireNext(clock);
    }
    assert.deepEqual(events.slice(0, 9).map((e) => e.delay), [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    c.destroy();
    assert.equal(clock.pendingTimers, 0);
  });

  test('reconnect - full jitter draws under the capped ceiling', async () => {
    const port = await deadPort();
    const clock = new VirtualClock();
    const c = client(`ws://127.0.0.1:${port}/`, clock, { reconnect: { base: 500, max: 30_000, random: () => 0.5 } });
    const { events, nth } = recorder(c);
    for (let i = 1; i <= 8; i++) {
      await nth(i);
      await fireNext(clock);
    }
    assert.deepEqual(events.slice(0, 8).map((e) => e.delay), [250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
    c.destroy();
  });

  test('reconnect - gives up after maxAttempts: close event, waiters reject, sends throw', async () => {
    const port = await deadPort();
    const clock = new VirtualClock();
    const c = client(`ws://127.0.0.1:${port}/`, clock, { reconnect: { base: 10, jitter: 'none', maxAttempts: 2 } });
    const { nth } = recorder(c);
    const opening = assert.rejects(c.open(), ClosedError);
    c.send('n', 1);
    const flushing = assert.rejects(c.flush(), ClosedError);
    const closed = once(c, 'close');
    await nth(1);
    await fireNext(clock);
    await nth(2);
    await fireNext(clock);
    const [info] = await closed;
    assert.ok(info.error instanceof Error);
    assert.equal(c.state, 'closed');
    await opening;
    await flushing;
    assert.throws(() => c.send('n', 2), ClosedError);
    assert.equal(c.stats().dropped, 1);
    assert.equal(clock.pendingTimers, 0);
  });

  test('reconnect: false - a lost connection closes the client', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reconnect: false });
    await c.open();
    const closed = once(c, 'close');
    await s.kill();
    await closed;
    assert.equal(c.state, 'closed');
  });

  for (const overflow of ['reject', 'drop-oldest', 'drop-newest'] as const) {
    test(`buffer bound - holds with overflow '${overflow}' while disconnected`, async () => {
      const s = await server();
      await s.kill();
      const clock = new VirtualClock();
      const c = client(s.url, clock, { reliable: true, bufferLimit: 3, overflow });
      await once(c, 'reconnecting');
      const accepted: boolean[] = [];
      for (const i of range(1, 5)) {
        if (overflow === 'reject' && i > 3) assert.throws(() => c.send('n', i), QueueFull);
        else accepted.push(c.send('n', i));
        assert.ok(c.stats().buffered <= 3);
      }
      assert.equal(c.stats().buffered, 3);
      await s.restart();
      await fireNext(clock);
      await c.flush();
      const expected = { 'reject': [1, 2, 3], 'drop-oldest': [3, 4, 5], 'drop-newest': [1, 2, 3] }[overflow];
      assert.deepEqual(s.payloads(), expected);
      if (overflow === 'drop-newest') assert.deepEqual(accepted, [true, true, true, false, false]);
      assert.equal(c.stats().dropped, overflow === 'reject' ? 0 : 2);
      await c.close();
    });
  }

  test('buffer bound - bufferBytes limits held bytes', async () => {
    const port = await deadPort();
    const clock = new VirtualClock();
    const c = client(`ws://127.0.0.1:${port}/`, clock, { bufferBytes: 300, overflow: 'drop-oldest' });
    for (let i = 0; i < 20; i++) {
      c.send('n', 'x'.repeat(50));
      assert.ok(c.stats().bufferedBytes <= 300);
    }
    assert.ok(c.stats().dropped > 0);
    assert.throws(() => new WsClient('ws://127.0.0.1:1/', { bufferLimit: 0 }), InvalidArgumentError);
    c.destroy();
  });

  test('reliable - drop-oldest gives up the oldest unacknowledged when nothing is unwritten', async () => {
    const s = await server({ ack: false });
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true, bufferLimit: 2, overflow: 'drop-oldest' });
    await c.open();
    c.send('n', 1);
    c.send('n', 2);
    c.send('n', 3);
    assert.equal(c.stats().unacked, 2);
    assert.equal(c.stats().dropped, 1);
    c.destroy();
  });

  test('close() - flushes, then closes with the code; no timers or sockets left', async () => {
    const s = await server();
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    await until(() => sockets() === 0);
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true, heartbeatMs: 1000 });
    await c.open();
    const serverSide = [...s.sockets][0]!;
    const serverClosed = onceEvent(serverSide, 'close');
    for (const i of range(1, 50)) c.send('n', i);
    const closed = once(c, 'close');
    await c.close(4000, 'bye');
    assert.deepEqual(s.payloads(), range(1, 50));
    assert.equal(c.state, 'closed');
    const [code, reason] = await serverClosed;
    assert.equal(code, 4000);
    assert.equal(String(reason), 'bye');
    assert.equal((await closed)[0].code, 4000);
    assert.equal(clock.pendingTimers, 0);
    await until(() => s.sockets.size === 0);
    await until(() => sockets() === 0, 1_000_000);
    assert.throws(() => c.send('n', 51), ClosedError);
    await assert.rejects(c.open(), ClosedError);
    await c.close();
  });

  test('close() - while disconnected waits for the reconnect and delivers the buffer', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true });
    await c.open();
    const reconnecting = once(c, 'reconnecting');
    await s.kill();
    await reconnecting;
    c.send('n', 1);
    c.send('n', 2);
    let done = false;
    const closing = c.close().then(() => (done = true));
    assert.equal(c.state, 'closing');
    await s.restart();
    await fireNext(clock);
    await closing;
    assert.ok(done);
    assert.deepEqual(s.payloads(), [1, 2]);
    assert.equal(clock.pendingTimers, 0);
  });

  test('close({ signal }) - an abort destroys the client and rejects with the reason', async () => {
    const port = await deadPort();
    const clock = new VirtualClock();
    const c = client(`ws://127.0.0.1:${port}/`, clock);
    c.send('n', 1);
    const controller = new AbortController();
    const closing = c.close(1000, '', { signal: controller.signal });
    controller.abort(new Error('give up'));
    await assert.rejects(closing, /give up/);
    assert.equal(c.state, 'closed');
    assert.equal(clock.pendingTimers, 0);
  });

  test('destroy() - stops at once: socket dropped, waiters rejected, iterator ended', async () => {
    const s = await server({ ack: false });
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true, heartbeatMs: 1000 });
    await c.open();
    const serverSide = [...s.sockets][0]!;
    const serverClosed = onceEvent(serverSide, 'close');
    c.send('n', 1);
    const flushing = c.flush();
    const reading = c[Symbol.asyncIterator]().next();
    c.destroy(new Error('stop'));
    assert.equal(c.state, 'closed');
    await assert.rejects(flushing, ClosedError);
    assert.deepEqual(await reading, { done: true, value: undefined });
    assert.equal((await serverClosed)[0], 1006);
    assert.equal(clock.pendingTimers, 0);
    assert.throws(() => c.send('n', 2), ClosedError);
    await assert.rejects(c.flush(), ClosedError);
    c.destroy();
    await c.close();
  });

  test('await using - disposes with close()', async () => {
    const s = await server();
    const clock = new VirtualClock();
    let c: WsClient;
    {
      await using scoped = client(s.url, clock, { reliable: true });
      c = scoped;
      scoped.send('n', 1);
    }
    assert.equal(c.state, 'closed');
    assert.deepEqual(s.payloads(), [1]);
  });

  test('iteration - yields envelopes in order, raw frames as text, acks are consumed', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true });
    await c.open();
    s.broadcast(JSON.stringify({ type: 'chat', payload: { text: 'hi' }, timestamp: 1 }));
    s.broadcast('plain text');
    s.broadcast(JSON.stringify([{ type: 'a', payload: 1, timestamp: 1 }, { type: 'b', payload: 2, timestamp: 1 }]));
    c.send('n', 1);
    await c.flush();
    const got: WsMessage[] = [];
    for await (const msg of c) {
      got.push(msg);
      if (got.length === 4) break;
    }
    assert.deepEqual(got.map((m) => [m.type, m.payload]), [['chat', { text: 'hi' }], [undefined, 'plain text'], ['a', 1], ['b', 2]]);
    assert.equal(got[0]!.envelope?.timestamp, 1);
    assert.equal(c.stats().received, 4);
    assert.equal(c.state, 'open', 'leaving the loop does not close the client');
    await c.close();
  });

  test('iteration - messages({ signal }) rejects a waiting next() with the reason', async () => {
    const s = await server();
    const c = client(s.url, new VirtualClock());
    const controller = new AbortController();
    const next = c.messages({ signal: controller.signal }).next();
    controller.abort(new Error('enough'));
    await assert.rejects(next, /enough/);
    await c.close();
  });

  test('receive bound - drop-oldest keeps the newest receiveLimit messages', async () => {
    const s = await server();
    const c = client(s.url, new VirtualClock(), { receiveLimit: 3, receiveOverflow: 'drop-oldest' });
    await c.open();
    for (const i of range(1, 10)) s.broadcast(JSON.stringify({ type: 'n', payload: i }));
    await until(() => c.stats().droppedIncoming === 7);
    const got: unknown[] = [];
    for await (const msg of c) {
      got.push(msg.payload);
      if (got.length === 3) break;
    }
    assert.deepEqual(got, [8, 9, 10]);
    await c.close();
  });

  test('receive bound - pause stops reading until the iterator drains, and loses nothing', async () => {
    const s = await server();
    const c = client(s.url, new VirtualClock(), { receiveLimit: 4 });
    await c.open();
    for (const i of range(1, 50)) s.broadcast(JSON.stringify({ type: 'n', payload: i }));
    await until(() => c.stats().received >= 4);
    const got: unknown[] = [];
    for await (const msg of c) {
      got.push(msg.payload);
      if (got.length === 50) break;
    }
    assert.deepEqual(got, range(1, 50));
    assert.equal(c.stats().droppedIncoming, 0);
    await c.close();
  });

  test('dedupe - incoming envelopes with a seq already seen from that sender are dropped', async () => {
    const s = await server();
    const c = client(s.url, new VirtualClock(), { dedupe: true });
    await c.open();
    const frames = [[1, 'x'], [2, 'x'], [2, 'x'], [1, 'y'], [1, 'x'], [3, 'x']] as const;
    for (const [seq, from] of frames) s.broadcast(JSON.stringify({ type: 'n', payload: `${from}${seq}`, seq, from }));
    const got: unknown[] = [];
    for await (const msg of c) {
      got.push(msg.payload);
      if (got.length === 4) break;
    }
    assert.deepEqual(got, ['x1', 'x2', 'y1', 'x3']);
    assert.equal(c.stats().duplicates, 2);
    await c.close();
  });

  test('batch - envelopes share frames of maxMessages; the rest wait maxDelayMs', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true, batch: { maxMessages: 10, maxDelayMs: 50 } });
    await c.open();
    for (const i of range(1, 25)) c.send('n', i);
    await s.waitReceived(20);
    assert.equal(s.frames.length, 2);
    await clock.advance(49);
    assert.equal(s.received.length, 20);
    await clock.advance(1);
    await c.flush();
    assert.deepEqual(s.payloads(), range(1, 25));
    assert.deepEqual(s.frames.map((f) => (JSON.parse(f) as unknown[]).length), [10, 10, 5]);
    await c.close();
  });

  test('batch - flush() writes a pending batch at once', async () => {
    const s = await server();
    const clock = new VirtualClock();
    const c = client(s.url, clock, { reliable: true, batch: { maxMessages: 10, maxDelayMs: 60_000 } });
    await c.open();
    c.send('n', 1);
    c.send('n', 2);
    await c.flush();
    assert.deepEqual(s.payloads(), [1, 2]);
    assert.equal(s.frames.length, 1);
    await c.close();
  });

  test('sendRaw() - writes text and binary frames; refused on a reliable client', async () => {
    const s = await server();
    const c = client(s.url, new VirtualClock());
    await c.open();
    c.sendRaw(JSON.stringify({ type: 'raw', payload: 1 }));
    await c.flush();
    await s.waitReceived(1);
    assert.equal(s.received[0]!.type, 'raw');
    const r = client(s.url, new VirtualClock(), { reliable: true });
    assert.throws(() => r.sendRaw('x'), InvalidArgumentError);
    await c.close();
    await r.close();
  });

  test('perMessageDeflate - negotiates compression and still delivers', async () => {
    const s = await server({ perMessageDeflate: true });
    const c = client(s.url, new VirtualClock(), { reliable: true, perMessageDeflate: true });
    await c.open();
    c.send('n', 'y'.repeat(10_000));
    await c.flush();
    assert.equal((s.payloads()[0] as string).length, 10_000);
    await c.close();
  });

  test('options - invalid values are refused at construction with the name', () => {
    assert.throws(() => new WsClient('http://127.0.0.1/'), /ws: or wss:/);
    assert.throws(() => new WsClient('ws://127.0.0.1:1/', { heartbeatMs: -1 }), /`heartbeatMs`/);
    assert.throws(() => new WsClient('ws://127.0.0.1:1/', { overflow: 'spill' as never }), /`overflow`/);
    assert.throws(() => new WsClient('ws://127.0.0.1:1/', { reliable: true, decode: false }), /decode/);
  });
});

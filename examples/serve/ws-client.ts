// Seeds: WSClient — a heartbeat, reconnection with exponential backoff capped at 30 s, JSON
// envelopes {type, payload, timestamp}. spate's WsClient adds a bounded send buffer and seq/ack, so
// messages sent while the server is down are delivered once it is back.
//
// The script starts its own `ws` server on 127.0.0.1 (acks each envelope, echoes `chat` ones),
// crashes and restarts it, then makes it stop answering pings, and prints what the client sees.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { WsClient } from '../../src/ws/client.ts';

let port = 0;
let stalled = false;
let delivered = 0;
const lastSeq = new Map<string, number>();

async function startServer(): Promise<WebSocketServer> {
  // autoPong off: pongs are sent by hand below, so the server can be made to stall.
  const wss = new WebSocketServer({ host: '127.0.0.1', port, autoPong: false });
  await once(wss, 'listening');
  port = (wss.address() as AddressInfo).port;
  wss.on('connection', (ws, request) => {
    const client = new URL(request.url ?? '/', 'http://localhost').searchParams.get('client') ?? '';
    ws.on('ping', (data) => {
      if (!stalled) ws.pong(data);
    });
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; payload: unknown; seq: number };
      if (message.seq > (lastSeq.get(client) ?? 0)) {
        lastSeq.set(client, message.seq);
        delivered++;
        if (message.type === 'chat') ws.send(JSON.stringify({ type: 'echo', payload: message.payload, timestamp: Date.now() }));
      }
      ws.send(JSON.stringify({ type: 'ack', seq: lastSeq.get(client) }));
    });
  });
  return wss;
}

async function crash(wss: WebSocketServer): Promise<void> {
  for (const ws of wss.clients) ws.terminate();
  await new Promise((resolve) => wss.close(resolve));
}

let server = await startServer();
const client = new WsClient(`ws://127.0.0.1:${port}/chat`, {
  reliable: true,
  heartbeatMs: 250,
  pongTimeoutMs: 1000,
  reconnect: { base: 50, max: 30_000 },
});
client.on('error', (error) => {
  if (error.name === 'TimeoutError') console.log(`heartbeat: ${error.message}`);
});
client.on('reconnecting', ({ attempt }) => {
  if (attempt === 1) console.log('connection lost; reconnecting with backoff');
});

// events.once() would also reject on the client's 'error' events, which are routine here.
const when = (event: 'open' | 'reconnecting') => new Promise<void>((resolve) => client.once(event, () => resolve()));

const incoming = client[Symbol.asyncIterator]();
async function printEchoes(count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const { value } = await incoming.next();
    console.log(`echo: ${JSON.stringify(value?.payload)}`);
  }
}

await client.open();
console.log('connected');
for (let i = 1; i <= 3; i++) client.send('chat', { text: `hello ${i}` });
await printEchoes(3);

// The server crashes; what is sent meanwhile waits in the client's buffer.
const lost = when('reconnecting');
await crash(server);
await lost;
client.send('chat', { text: 'sent while the server was down' });
client.send('chat', { text: 'this one too' });
console.log(`buffered while down: ${client.stats().buffered}`);
server = await startServer();
await when('open');
console.log('reconnected after the restart');
await client.flush();
await printEchoes(2);

// The server stops answering pings: the heartbeat notices and the client makes a new connection.
stalled = true;
await when('reconnecting');
stalled = false;
await when('open');
console.log('reconnected after the stall');

await client.close();
const stats = client.stats();
console.log(`server received ${delivered} messages exactly once; client reconnected ${stats.reconnects} times; state ${stats.state}`);
await crash(server);

// The seeds' websockets chat server (chat_server / notify_all): clients connect with `ws`,
// everyone in the room hears joins and leaves with the user count, and messages. The last part
// shows the reliability protocol: a `seq` is acknowledged and a resent one is not relayed twice.
// Run: npx node examples/serve/ws-chat.ts
import { once } from 'node:events';
import WebSocket from 'ws';
import { type Envelope, startWsChatServer } from '../../src/ws/index.ts';

await using server = await startWsChatServer({ heartbeatMs: 0 });
console.log('server: listening');

async function client(name: string, query: string) {
  const ws = new WebSocket(`${server.url}?${query}`);
  const inbox: Envelope[] = [];
  const waiting: ((e: Envelope) => void)[] = [];
  ws.on('message', (data) => {
    const e = JSON.parse(String(data)) as Envelope;
    const resolve = waiting.shift();
    if (resolve) resolve(e);
    else inbox.push(e);
  });
  await once(ws, 'open');
  return {
    ws,
    /** Prints the next envelope this client receives (without its timestamp). */
    async hear() {
      const e = inbox.shift() ?? (await new Promise<Envelope>((resolve) => waiting.push(resolve)));
      const { timestamp: _, ...shown } = e;
      console.log(`[${name}] ${JSON.stringify(shown)}`);
    },
    send(envelope: object) {
      console.log(`${name} > ${JSON.stringify(envelope)}`);
      ws.send(JSON.stringify({ ...envelope, timestamp: Date.now() }));
    },
  };
}

const ann = await client('ann', 'nick=ann&room=lobby&client=ann-1');
await ann.hear(); // her own join: users 1
const bob = await client('bob', 'nick=bob&room=lobby');
await ann.hear();
await bob.hear();

ann.send({ type: 'message', payload: 'hello, lobby', seq: 1 });
await ann.hear(); // the message (sent to everyone, as notify_all does)
await ann.hear(); // ack 1
await bob.hear();

ann.send({ type: 'message', payload: 'hello, lobby', seq: 1 }); // a resend after a lost ack
await ann.hear(); // ack 1 again; not relayed twice

bob.ws.close();
await once(bob.ws, 'close');
await ann.hear(); // bob left: users 1

const annClosed = once(ann.ws, 'close');
await server.close(); // ann is closed with 1001
const [code, reason] = await annClosed;
console.log(`[ann] closed ${code} ${String(reason)}`);
console.log(`server: closed (${server.stats().messages} message relayed, ${server.stats().duplicates} duplicate dropped)`);

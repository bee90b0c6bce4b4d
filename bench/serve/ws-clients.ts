// A process of idle WebSocket clients for serve/ws-idle (one process holds at most ~20,000
// sockets here: `ulimit -n`). Connects `count` clients to `url`, rooms of `room-size` each, prints
// {"open": n, "failed": f} when all have tried, then holds them; on SIGUSR2 prints
// {"connections": n} (those still open); exits when its stdin closes.
// Usage: node serve/ws-clients.ts <url> --count=5000 --offset=0 --room-size=100
import WebSocket from 'ws';
import { args } from '../lib.ts';

const url = process.argv[2]!;
const { count, offset, 'room-size': roomSize } = args({ count: 5000, offset: 0, 'room-size': 100 }) as { count: number; offset: number; 'room-size': number };
const CONNECT_CONCURRENCY = 100;

let open = 0;
let failed = 0;
const sockets: WebSocket[] = [];

function connectOne(n: number): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}?room=r${Math.floor(n / roomSize)}&nick=i${n}`, { perMessageDeflate: false });
    ws.once('open', () => {
      open++;
      sockets.push(ws);
      ws.once('close', () => open--);
      resolve();
    });
    ws.on('error', () => {
      if (ws.readyState !== WebSocket.OPEN) {
        failed++;
        resolve();
      }
    });
  });
}

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGUSR2', () => console.log(JSON.stringify({ connections: open })));
let next = 0;
await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, async () => {
  while (next < count) await connectOne(offset + next++);
}));
console.log(JSON.stringify({ open, failed }));

// A test client for line protocols: connects, queues the lines it receives, and lets a test
// await the next one (no sleeps: every wait is on a socket event).
import { once } from 'node:events';
import { connect, type Server, type Socket } from 'node:net';

export interface LineClient {
  readonly socket: Socket;
  /** The server's side of this connection. */
  readonly serverSide: Promise<Socket>;
  /** The next line received (without `\n`); rejects if the connection closes first. */
  next(): Promise<string>;
  /** Lines received and not yet taken by `next()`. */
  readonly buffered: readonly string[];
  /** Resolves with the lines not taken by `next()` when the connection has closed. */
  readonly closed: Promise<string[]>;
  send(line: string): void;
}

export async function lineClient(server: { port: number; server: Server }, track: Socket[]): Promise<LineClient> {
  const serverSide = once(server.server, 'connection').then(([s]) => s as Socket);
  const socket = connect({ port: server.port, host: '127.0.0.1' });
  track.push(socket);
  await once(socket, 'connect');
  socket.setEncoding('utf8');
  const lines: string[] = [];
  const waiters: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let partial = '';
  let isClosed = false;
  socket.on('data', (chunk: string) => {
    partial += chunk;
    let i = partial.indexOf('\n');
    while (i !== -1) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter.resolve(line);
      else lines.push(line);
      i = partial.indexOf('\n');
    }
  });
  socket.on('error', () => {});
  const closed = once(socket, 'close').then(() => {
    isClosed = true;
    for (const w of waiters.splice(0)) w.reject(new Error('connection closed'));
    return lines;
  });
  return {
    socket,
    serverSide,
    buffered: lines,
    closed,
    next() {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (isClosed) return Promise.reject(new Error('connection closed'));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    send(line: string) {
      socket.write(`${line}\n`);
    },
  };
}

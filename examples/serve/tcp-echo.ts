// The seeds' asyncio TCP echo server (handle_client), with a client that sends a few lines and
// prints the replies. Run: npx node examples/serve/tcp-echo.ts
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { startEchoServer } from '../../src/tcp/index.ts';

// Port 0 picks a free port; `spate serve echo --port 8888` runs the same server from the CLI.
await using server = await startEchoServer({ maxLineLength: 1024, idleTimeoutMs: 10_000 });
console.log('server: listening');

const socket = connect(server.port, '127.0.0.1');
await once(socket, 'connect');
const replies = createInterface({ input: socket })[Symbol.asyncIterator]();

for (const message of ['hello', 'spate', '你好, world']) {
  socket.write(`${message}\n`);
  const { value } = await replies.next();
  console.log(`client: sent ${JSON.stringify(message)}, got ${JSON.stringify(value)}`);
}

socket.end();
await once(socket, 'close');
console.log('client: closed');
await server.close();
console.log(`server: closed (${server.stats().lines} lines echoed)`);

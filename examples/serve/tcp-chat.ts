// The seeds' broadcast chat over TCP: three clients join, talk, ask who is here, and leave.
// Every line a client receives is printed with its name. Run: npx node examples/serve/tcp-chat.ts
import { once } from 'node:events';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { startChatServer } from '../../src/tcp/index.ts';

await using server = await startChatServer();
console.log('server: listening');

async function client(name: string) {
  const socket = connect(server.port, '127.0.0.1');
  await once(socket, 'connect');
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  return {
    socket,
    /** Prints the next line this client receives. */
    async hear() {
      const { value } = await lines.next();
      console.log(`[${name}] ${value}`);
    },
    say(line: string) {
      console.log(`${name} > ${line}`);
      socket.write(`${line}\n`);
    },
  };
}

const alice = await client('alice');
await alice.hear(); // the nickname prompt
alice.say('alice');
await alice.hear();

const bob = await client('bob');
await bob.hear();
bob.say('bob');
await bob.hear();
await alice.hear(); // bob joined

const carol = await client('carol');
await carol.hear();
carol.say('carol');
await carol.hear();
await alice.hear();
await bob.hear();

alice.say('hi everyone'); // to bob and carol, not back to alice
await bob.hear();
await carol.hear();

bob.say('/who');
await bob.hear();

carol.say('/quit');
await carol.hear();
await once(carol.socket, 'close');
await alice.hear();
await bob.hear();

await server.close(); // tells alice and bob, then closes
await alice.hear();
await bob.hear();
console.log('server: closed');

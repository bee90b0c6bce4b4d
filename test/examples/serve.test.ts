import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Runs an example with this Node and returns its stdout lines; it must exit 0 by itself. */
async function example(name: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [`examples/serve/${name}`], { cwd: root, timeout: 15_000 });
  return stdout.trimEnd().split('\n');
}

describe('examples/serve', { timeout: 30_000 }, () => {
  test('tcp-echo.ts: the echo server answers each line', async () => {
    assert.deepEqual(await example('tcp-echo.ts'), [
      'server: listening',
      'client: sent "hello", got "Echo: hello"',
      'client: sent "spate", got "Echo: spate"',
      'client: sent "你好, world", got "Echo: 你好, world"',
      'client: closed',
      'server: closed (3 lines echoed)',
    ]);
  });

  test('tcp-chat.ts: three clients join, chat, list users and leave', async () => {
    assert.deepEqual(await example('tcp-chat.ts'), [
      'server: listening',
      '[alice] * Welcome! Choose a nickname:',
      'alice > alice',
      '[alice] * Hello alice, 1 user online. Commands: /nick <name>, /who, /quit',
      '[bob] * Welcome! Choose a nickname:',
      'bob > bob',
      '[bob] * Hello bob, 2 users online. Commands: /nick <name>, /who, /quit',
      '[alice] * bob joined (2 users)',
      '[carol] * Welcome! Choose a nickname:',
      'carol > carol',
      '[carol] * Hello carol, 3 users online. Commands: /nick <name>, /who, /quit',
      '[alice] * carol joined (3 users)',
      '[bob] * carol joined (3 users)',
      'alice > hi everyone',
      '[bob] alice: hi everyone',
      '[carol] alice: hi everyone',
      'bob > /who',
      '[bob] * Users (3): alice, bob, carol',
      'carol > /quit',
      '[carol] * Bye!',
      '[alice] * carol left (2 users)',
      '[bob] * carol left (2 users)',
      '[alice] * Server shutting down',
      '[bob] * Server shutting down',
      'server: closed',
    ]);
  });

  test('ws-chat.ts: joins and leaves with counts, a message, an ack and a dropped duplicate', async () => {
    assert.deepEqual(await example('ws-chat.ts'), [
      'server: listening',
      '[ann] {"type":"join","payload":{"nick":"ann","room":"lobby","users":1},"room":"lobby"}',
      '[ann] {"type":"join","payload":{"nick":"bob","room":"lobby","users":2},"room":"lobby"}',
      '[bob] {"type":"join","payload":{"nick":"bob","room":"lobby","users":2},"room":"lobby"}',
      'ann > {"type":"message","payload":"hello, lobby","seq":1}',
      '[ann] {"type":"message","payload":"hello, lobby","from":"ann","room":"lobby"}',
      '[ann] {"type":"ack","seq":1}',
      '[bob] {"type":"message","payload":"hello, lobby","from":"ann","room":"lobby"}',
      'ann > {"type":"message","payload":"hello, lobby","seq":1}',
      '[ann] {"type":"ack","seq":1}',
      '[ann] {"type":"leave","payload":{"nick":"bob","room":"lobby","users":1,"reason":"closed"},"room":"lobby"}',
      '[ann] closed 1001 server shutting down',
      'server: closed (1 message relayed, 1 duplicate dropped)',
    ]);
  });
});

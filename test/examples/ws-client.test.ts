// The seeds' WSClient example runs as a program and its output is checked. It starts its own
// server on port 0, crashes and stalls it, and stops by itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

test('examples/serve/ws-client - survives a server restart and a stall, nothing lost or doubled', async () => {
  const file = fileURLToPath(new URL('../../examples/serve/ws-client.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 30_000 });
  assert.deepEqual(stdout.trim().split('\n'), [
    'connected',
    'echo: {"text":"hello 1"}',
    'echo: {"text":"hello 2"}',
    'echo: {"text":"hello 3"}',
    'connection lost; reconnecting with backoff',
    'buffered while down: 2',
    'reconnected after the restart',
    'echo: {"text":"sent while the server was down"}',
    'echo: {"text":"this one too"}',
    'heartbeat: No pong within 1000 ms',
    'connection lost; reconnecting with backoff',
    'reconnected after the stall',
    'server received 5 messages exactly once; client reconnected 2 times; state closed',
  ]);
});

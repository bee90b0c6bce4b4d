import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('examples/serve/api-service.ts', { timeout: 30_000 }, () => {
  test('the seeds\' API service answers the client, counts requests, and closes with its background tasks', async () => {
    const { stdout } = await run(process.execPath, ['examples/serve/api-service.ts'], { cwd: root, timeout: 20_000 });
    assert.deepEqual(stdout.trimEnd().split('\n'), [
      'server: listening',
      'GET /health -> ok',
      'POST /echo -> received {"message":"hello","n":1}, processed: true',
      'GET /data/42 -> User 42 <user42@example.com>',
      '5 concurrent /data calls -> User 1, User 2, User 3, User 4, User 5',
      'GET /slow?delay=0.2 -> Slow response completed (0.2 s)',
      'GET /data/abc -> 400 FST_ERR_VALIDATION',
      'GET /nothing-here -> 404 FST_ERR_NOT_FOUND',
      '/metrics: 6 successful GET /data/:id requests',
      'server: closed (background tasks: loop-lag stopped, heartbeat stopped, ticked: true)',
    ]);
  });
});

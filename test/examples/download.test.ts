// The seeds' batch_download example runs as a program and its output is checked. It starts its
// own lab on port 0, downloads into a temporary directory and removes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

test('examples/download/batch-download - DownloadResults and the seeds\' totals', async () => {
  const file = fileURLToPath(new URL('../../examples/download/batch-download.ts', import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  assert.equal(lines.filter((l) => /^done {3}image_\d{4}\.jpg/.test(l)).length, 8);
  assert.match(stdout, /^done {3}large\.bin +400000 bytes \(retried\)$/m);
  assert.match(stdout, /^done {3}flaky\.bin +1000 bytes \(retried\)$/m);
  assert.match(stdout, /^failed 404 +HTTP 404$/m);
  assert.equal(lines.at(-1), '{ total: 11, success: 10, failed: 1, total_size: 2201000 }');
});

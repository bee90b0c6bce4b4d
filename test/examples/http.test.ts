// Each HTTP example of the seeds runs as a program, as a user would run it, and its output is
// checked. The examples start their own lab on port 0 and stop by themselves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = async (name: string): Promise<string> => {
  const file = fileURLToPath(new URL(`../../examples/http/${name}`, import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 30_000 });
  return stdout;
};

test('examples/http/fetch-multiple-urls - five at a time, every result reported', async () => {
  const out = await run('fetch-multiple-urls.ts');
  assert.match(out, /fail 404 \/status\/404/);
  assert.match(out, /9 of 10 succeeded/);
  assert.equal(out.match(/^ok {3}200 \/delay/gm)?.length, 8);
});

test('examples/http/api-client - retries the 503s, not the 404', async () => {
  const out = await run('api-client.ts');
  assert.match(out, /\/users\/3: \S.* \(attempts: 3\)/);
  assert.match(out, /\/users\/999: failed with 404 \(attempts: 1\)/);
  assert.match(out, /requests sent: 6, retries: 2/);
});

test('examples/http/fetch-with-retry - 404 is final, timeouts and 500s are retried', async () => {
  const out = await run('fetch-with-retry.ts');
  assert.deepEqual(out.trim().split('\n'), [
    '/json: 200 after 3 attempt(s)',
    '/status/404: gave up, HTTP 404 (not retried)',
    '/json: 200 after 2 attempt(s)',
  ]);
});

test('examples/http/api-pipeline - every user with details and posts', async () => {
  const out = await run('api-pipeline.ts');
  assert.equal(out.match(/ 10 posts$/gm)?.length, 5);
  assert.match(out, /5 users, 11 requests/);
});

test('examples/http/web-crawler - statuses and titles in input order', async () => {
  const out = await run('web-crawler.ts');
  assert.match(out, /^200 \/site\/default\/ has body "Page 0"$/m);
  assert.match(out, /^404 \/site\/default\/missing empty ""$/m);
  assert.match(out, /crawled 7 pages/);
});

test('examples/http/sync-vs-async - concurrent beats sequential', async () => {
  const out = await run('sync-vs-async.ts');
  assert.equal(out.match(/concurrent beats sequential/g)?.length, 3);
  assert.doesNotMatch(out, /failed [1-9]/);
});

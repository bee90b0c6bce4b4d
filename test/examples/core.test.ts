// Each core example runs as a program, as a user would run it, and its output is checked. The
// examples use real time with wide margins (they are demos, not tests of timing), so they are
// started at once, four at a time, and each test awaits its own program's output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Semaphore } from '../../src/core/index.ts';

const dir = new URL('../../examples/core/', import.meta.url);
const slots = new Semaphore(4);
const outputs = new Map<string, Promise<string[]>>();
const exec = promisify(execFile);

for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts')).sort()) {
  const output = slots.use(async () => {
    const { stdout, stderr } = await exec(process.execPath, [fileURLToPath(new URL(file, dir))], { timeout: 20_000 });
    assert.equal(stderr, '', `${file} wrote to stderr`);
    return stdout.trimEnd().split('\n');
  });
  output.catch(() => {}); // reported by the test that awaits it
  outputs.set(file.slice(0, -3), output);
}

const lines = (name: string): Promise<string[]> => {
  const output = outputs.get(name);
  assert.ok(output, `examples/core/${name}.ts does not exist`);
  return output;
};

test('every core example has a test', () => {
  assert.deepEqual([...outputs.keys()].sort(), [
    'as-completed', 'async-iterators', 'await-using', 'cpu-executor', 'create-task', 'gather', 'lock-timeout',
    'performance-monitor', 'producer-consumer', 'rate-limiter', 'resource-pool', 'retry', 'semaphore',
    'sync-vs-async', 'task-group', 'timeouts', 'wait-first-completed',
  ]);
});

test('examples/core/sync-vs-async - three waits one after another, then at once', async () => {
  assert.deepEqual(await lines('sync-vs-async'), [
    'Task A started', 'Task A completed', 'Task B started', 'Task B completed', 'Task C started', 'Task C completed',
    'sequential: took about 0.6 s (3 × 0.2 s)',
    'Task A started', 'Task B started', 'Task C started', 'Task A completed', 'Task B completed', 'Task C completed',
    "[ 'Result from A', 'Result from B', 'Result from C' ]",
    'concurrent: took about 0.2 s, not 0.6 s',
  ]);
});

test('examples/core/create-task - shorter task first, tasks start at once, cancel reaches the work', async () => {
  assert.deepEqual(await lines('create-task'), [
    'Hello, Bob!',
    'Hello, Alice!',
    'Results: Alice greeted, Bob greeted',
    'Starting background work',
    'Task created, doing other work',
    'Other work done',
    'Background work completed',
    'download: stopped early (signal aborted: true)',
    'long-download is cancelled',
  ]);
});

test('examples/core/gather - input order, first failure cancels the sibling, returnExceptions keeps all', async () => {
  assert.deepEqual(await lines('gather'), [
    "[ 'slow', 'fast', 'medium' ]",
    'Error caught: Task failed!',
    'successful_task is cancelled, not left running',
    'Successful tasks: 7',
    'Failed tasks: 3 (Task 4 failed, Task 6 failed, Task 8 failed)',
  ]);
});

test('examples/core/wait-first-completed - the fastest engine wins, the others are cancelled', async () => {
  assert.deepEqual(await lines('wait-first-completed'), [
    "First completed: DuckDuckGo: Results for 'python asyncio'",
    'Still pending: Google, Bing',
    'Google: request aborted',
    'Bing: request aborted',
    'Google cancelled, Bing cancelled, DuckDuckGo fulfilled',
    "Winner: DuckDuckGo: Results for 'python asyncio'",
    'Google: request aborted',
    'Bing: request aborted',
  ]);
});

test('examples/core/as-completed - completion order, and a deadline that cancels the straggler', async () => {
  assert.deepEqual(await lines('as-completed'), [
    'Received: Data from URL 2',
    'Received: Data from URL 3',
    'Received: Data from URL 1',
    'Searching...',
    "DuckDuckGo: Results for 'python asyncio'",
    "Google: Results for 'python asyncio'",
    'Bing: cancelled',
    'Stopped waiting: asCompleted() timed out after 300 ms',
  ]);
});

test('examples/core/producer-consumer - join after every taskDone, bounded queue, shutdown ends consumers', async () => {
  assert.deepEqual(await lines('producer-consumer'), [
    'join() returned after 10 taskDone() calls',
    'processed 9: Item-0-0 Item-0-1 Item-0-2 Item-0-3 Item-0-4 Item-1-0 Item-1-1 Item-1-2 Item-1-4',
    'dead letter: Item-1-3 (bad record)',
    'the queue never held more than 3 items (maxsize 3)',
    'all 3 consumers took a share; all of them have stopped',
  ]);
});

test('examples/core/semaphore - ten calls, three at a time, started FIFO', async () => {
  assert.deepEqual(await lines('semaphore'), [
    'Completed 10 API calls, at most 3 at once',
    'started in order: 0 1 2 3 4 5 6 7 8 9 (FIFO: a freed permit goes to the longest waiter)',
    'took about 0.4 s: 4 rounds of 0.1 s (not 0.1 s, not 1 s)',
    'mapAll: Result 0 … Result 9, at most 3 at once, took about 0.4 s: 4 rounds of 0.1 s (not 0.1 s, not 1 s)',
  ]);
});

test('examples/core/rate-limiter - 15 requests at 5 per 0.2 s, in three windows (virtual time)', async () => {
  assert.deepEqual(await lines('rate-limiter'), [
    'after 15 calls: 10 waiting',
    'Completed 15 requests in 0.45 s',
    'at 0.0 s: items 0, 1, 2, 3, 4',
    'at 0.2 s: items 5, 6, 7, 8, 9',
    'at 0.4 s: items 10, 11, 12, 13, 14',
    'never more than 5 requests in any 0.2 s',
  ]);
});

test('examples/core/resource-pool - ten callers share five connections, all closed at the end', async () => {
  assert.deepEqual(await lines('resource-pool'), [
    '10 queries, e.g. "Results for: SELECT 0"',
    'connections opened: 5; queries per connection: 2, 2, 2, 2, 2',
    'pool exhausted: Resource pool acquire timed out',
    '{ size: 5, idle: 5, leased: 0, waiting: 0, pending: 0, min: 0, max: 5 }',
    'connections closed: 5',
  ]);
});

test('examples/core/lock-timeout - FIFO lock, a waiter times out, a deadlock is broken by backing off', async () => {
  assert.deepEqual(await lines('lock-timeout'), [
    'Task 0 waiting for lock',
    'Task 1 waiting for lock',
    'Task 2 waiting for lock',
    'Task 0 acquired lock',
    'Task 0 releasing lock',
    'Task 1 acquired lock',
    'Task 2 timed out waiting for lock',
    'Task 1 releasing lock',
    'audit: attempt 1 timed out waiting for A, releasing B and backing off',
    'transfer: holds A and B, done',
    'audit: holds B and A, done on attempt 2',
  ]);
});

test('examples/core/retry - retries, gives up with the count, skips permanent errors, deadline per attempt', async () => {
  assert.deepEqual(await lines('retry'), [
    '  Attempt 1 failed: Random failure. Retrying in 0.05s...',
    '  Attempt 2 failed: Random failure. Retrying in 0.05s...',
    'Success on attempt 3',
    '  Attempt 1 failed: Random failure. Retrying in 0.05s...',
    '  Attempt 2 failed: Random failure. Retrying in 0.05s...',
    'All retries failed: Random failure (3 attempts)',
    'Not retried: invalid input (1 attempt)',
    '  Attempt 1 failed: Timed out after 100 ms. Retrying in 0s...',
    'Success on attempt 2, in about 0.1 s, not the 1 s the hung attempt wanted',
  ]);
});

test('examples/core/timeouts - timeout, moveOnAfter, waitFor and a shared deadline stop the work', async () => {
  const aborted = '  fetch_data: aborted, connection closed';
  assert.deepEqual(await lines('timeouts'), [
    aborted,
    'Request timed out',
    'fast enough: data',
    aborted,
    'cache too slow, skipping it',
    aborted,
    'waitFor: TimeoutError; task download is cancelled',
    'step 1 done',
    aborted,
    'step 2 timed out: the job as a whole had 0.25 s',
  ]);
});

test('examples/core/async-iterators - generators clean up, also on break; map streams them', async () => {
  assert.deepEqual(await lines('async-iterators'), [
    'Got number: 1', 'Got number: 2', 'Got number: 3', 'Got number: 4',
    'cursor: executing SELECT * FROM users', 'User: Alice', 'User: Bob', 'User: Charlie', 'cursor: closed',
    'cursor: executing SELECT * FROM users', 'found Bob, stopping', 'cursor: closed',
    'cursor: executing SELECT * FROM users', 'cursor: closed', 'enriched: Alice (1), Bob (2), Charlie (3)',
    'Line 1', 'Line 2', 'Line 3',
  ]);
});

test('examples/core/await-using - resources are released at scope end, in reverse order, before the error', async () => {
  assert.deepEqual(await lines('await-using'), [
    'Acquiring Database Connection',
    'Working with Database Connection',
    'Results for: SELECT * FROM users',
    'Releasing Database Connection',
    'Context manager completed',
    'Acquiring Resource',
    'Working with Resource',
    'Releasing Resource',
    'Caught error: Something went wrong',
    'Acquiring cache',
    'Acquiring database',
    'Acquiring queue',
    'Releasing database',
    'Releasing cache',
    'Caught error: could not open queue',
    'inside: lock held = true',
    'after: lock held = false',
  ]);
});

test('examples/core/task-group - waits for children, cancels siblings on failure, obeys an outer deadline', async () => {
  assert.deepEqual(await lines('task-group'), [
    'got user 1 details and user 1 posts',
    '  user 2 details: cancelled',
    '  user 2 avatar: cancelled',
    '1 task of user-2 failed: user 2 posts: HTTP 500',
    'spawned 3 children; 3 running',
    'after the block: page 3, page 2, page 1 (in completion order)',
    '  user 3: cancelled',
    '  user 4: cancelled',
    'group stopped: TimeoutError',
  ]);
});

test('examples/core/cpu-executor - same results on worker threads, the loop keeps ticking, cancellable', async () => {
  assert.deepEqual(await lines('cpu-executor'), [
    'on the event loop: 9592, 17984, 25997, 33860, 41538 primes; the ticker ticked 0 times meanwhile',
    'in the executor: 9592, 17984, 25997, 33860, 41538 primes; the ticker kept ticking (5+ times)',
    'a huge count was stopped after 0.1 s: TimeoutError',
    'executor: 6 calls completed',
  ]);
});

test('examples/core/performance-monitor - per-task counts, totals, errors from the registry report', async () => {
  const out = await lines('performance-monitor');
  assert.equal(out[0], 'Task completed after 0.1s; Task completed after 0.2s; Task completed after 0.15s');
  assert.match(out[1]!, /^name +labels +count +total ms +mean +min +p50 +p90 +p99 +max$/);
  // Virtual time: totals and means are exact; percentiles are the histogram's (≤ 0.4% off).
  assert.match(out[2]!, /^sample_task_duration_seconds +task=task1 +3 +300 +100 /);
  assert.match(out[3]!, /^sample_task_duration_seconds +task=task2 +2 +450 +225 /);
  assert.match(out[4]!, /^sample_task_duration_seconds +task=task3 +2 +550 +275 .* 400$/);
  assert.ok(out.some((line) => /^sample_task_errors_total +task=task3 +counter +1$/.test(line)));
  assert.equal(out.filter((line) => /^sample_task_in_flight +task=task\d +gauge +0$/.test(line)).length, 3);
  assert.equal(out.at(-1), 'task1: 3 calls, 0 errors, mean 100 ms, max 120 ms');
});

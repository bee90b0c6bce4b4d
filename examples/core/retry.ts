// Seeds: retry_task(failing_task, max_retries, delay) — a fixed failure pattern here, so every run is alike.
// spate's retry adds backoff, retryOn for permanent errors, a deadline per attempt, and the attempt count.
import { constantBackoff, retry, retryAttempts, sleep, timeout, TimeoutError, type RetryContext, type RetryEvent } from '../../src/core/index.ts';

/** A task that fails on the attempts listed in `pattern` (the seeds' random failures, made repeatable). */
function unreliable(pattern: readonly ('fail' | 'ok' | 'slow')[], error = () => new Error('Random failure')) {
  return async ({ attempt, signal }: RetryContext): Promise<string> => {
    const outcome = pattern[Math.min(attempt, pattern.length) - 1];
    await sleep(outcome === 'slow' ? 1000 : 20, { signal });
    if (outcome === 'fail') throw error();
    return `Success on attempt ${attempt}`;
  };
}

const onRetry = ({ error, attempt, delay }: RetryEvent) =>
  console.log(`  Attempt ${attempt} failed: ${(error as Error).message}. Retrying in ${delay / 1000}s...`);

// 1. Fails twice, then succeeds.
console.log(await retry(unreliable(['fail', 'fail', 'ok']), { retries: 4, backoff: constantBackoff(50), onRetry }));

// 2. Never succeeds: the last error comes out unchanged, with the attempt count beside it.
try {
  await retry(unreliable(['fail']), { retries: 2, backoff: constantBackoff(50), onRetry });
} catch (error) {
  console.log(`All retries failed: ${(error as Error).message} (${retryAttempts(error)} attempts)`);
}

// 3. A permanent error is not retried.
class ValidationError extends Error {}
try {
  await retry(unreliable(['fail'], () => new ValidationError('invalid input')), {
    retryOn: (error) => !(error instanceof ValidationError),
    onRetry,
  });
} catch (error) {
  console.log(`Not retried: ${(error as Error).message} (${retryAttempts(error)} attempt)`);
}

// 4. The first attempt hangs: a deadline per attempt turns the hang into a retryable TimeoutError.
const slowThenFast = unreliable(['slow', 'ok']);
const start = performance.now();
const result = await retry(
  (ctx) => timeout(100, ({ signal }) => slowThenFast({ attempt: ctx.attempt, signal }), { signal: ctx.signal }),
  { retries: 2, backoff: constantBackoff(0), retryOn: (error) => error instanceof TimeoutError, onRetry },
);
const elapsed = performance.now() - start;
console.log(`${result}, ${elapsed < 600 ? 'in about 0.1 s, not the 1 s the hung attempt wanted' : `in ${elapsed} ms?`}`);

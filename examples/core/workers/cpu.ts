// The worker module of examples/core/cpu-executor.ts: each named export runs on a worker thread.

/** The seeds' cpu_intensive_task: pure CPU work (primes below `limit`, by trial division). */
export function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

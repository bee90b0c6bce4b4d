// Shared settings of the property/fuzz tests: a fixed seed and a small budget in `npm test`;
// FUZZ_RUNS=<n> (and FUZZ_SEED=<n>) for a longer run on demand (docs/testing.md).
import type { Parameters } from 'fast-check';

const runs = Number(process.env.FUZZ_RUNS ?? '');
const seed = Number(process.env.FUZZ_SEED ?? '');

/** fast-check parameters: `scale` multiplies the default budget for cheap properties. */
export function fuzz<T = unknown>(scale = 1): Parameters<T> {
  return {
    seed: Number.isInteger(seed) && process.env.FUZZ_SEED !== undefined ? seed : 0x5eed,
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : Math.round(150 * scale),
  };
}

// Option parsers shared by the commands: each throws commander's InvalidArgumentError, which the
// CLI turns into a usage error (exit 2) naming the option.
import { InvalidArgumentError } from 'commander';

/** An integer ≥ `min`. */
export function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be an integer ≥ ${min}.`);
    return n;
  };
}

/** A finite number > 0 (`what` names the unit in the error: "a number of seconds > 0"). */
export function positive(what = 'a number'): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be ${what} > 0.`);
    return n;
  };
}

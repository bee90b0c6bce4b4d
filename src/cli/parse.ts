// Option parsers and path checks shared by the commands. A parser throws commander's
// InvalidArgumentError, which commander reports as a usage error naming the option; a path check
// throws UsageError, which runJob reports the same way. Both end in exit 2, before any work.
import { accessSync, closeSync, constants, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';

/** A mistake in how a command was called: one line on stderr, exit 2. */
export class UsageError extends Error {
  readonly code = 'SPATE_USAGE';
  override name = 'UsageError';
}

/** An integer in [`min`, `max`]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `must be an integer ≥ ${min}` : `must be an integer in [${min}, ${max}]`);
    }
    return n;
  };
}

/** A finite number > 0 (`what` names it in the error: "a number of requests per second"). */
export function positive(what = 'a number'): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`must be ${what} > 0`);
    return n;
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration with its unit — `500ms`, `2s`, `1.5m`, `1h` — in milliseconds. A bare number is
 * refused: the same flag meaning ms in one command and seconds in another is what units end.
 */
export function parseDuration(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)\s*$/.exec(value);
  if (match === null) {
    throw new InvalidArgumentError(/^\s*\d+(\.\d+)?\s*$/.test(value)
      ? `needs a unit: ${value.trim()}ms or ${value.trim()}s`
      : 'must be a duration such as 500ms, 2s or 1m');
  }
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** Formats milliseconds the way parseDuration reads them (for help defaults). */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms !== 0 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** An option taking a duration, with its default shown in the same units in --help. */
export function durationOption(flags: string, description: string, defaultMs?: number, max = Infinity): Option {
  const option = new Option(flags, description).argParser((value: string) => {
    const ms = parseDuration(value);
    if (ms > max) throw new InvalidArgumentError(`must be at most ${formatDuration(max)}`);
    return ms;
  });
  return defaultMs === undefined ? option : option.default(defaultMs, formatDuration(defaultMs));
}

/**
 * Checks before any work that `path` (an `-o/--output`-like file, `-` being stdout) can be
 * written: not a folder, its folder exists, and it can be created or opened for writing.
 * Character devices (/dev/null), FIFOs and sockets are fine: they are written, never truncated.
 */
export function checkOutputFile(path: string, option: string): void {
  if (path === '-') return;
  const full = resolve(path);
  let exists = true;
  try {
    const stat = statSync(full);
    if (stat.isDirectory()) throw new UsageError(`${option} ${path} is a folder, not a file`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${option} ${path}: ${reason(error)}`);
    exists = false;
  }
  if (exists) {
    try {
      accessSync(full, constants.W_OK);
    } catch (error) {
      throw new UsageError(`${option} ${path} is not writable (${reason(error)})`);
    }
    return;
  }
  const parent = dirname(full);
  try {
    if (!statSync(parent).isDirectory()) throw new UsageError(`${option} ${path}: ${parent} is not a folder`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${option} ${path}: folder ${dirname(path)} does not exist`);
  }
  // access(W_OK) says yes to root everywhere (even /proc): only creating the file tells.
  try {
    closeSync(openSync(full, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL));
    unlinkSync(full);
  } catch (error) {
    throw new UsageError(`${option} ${path} cannot be created (${reason(error)})`);
  }
}

/** Checks that `path` is a folder that exists or can be made (its nearest existing ancestor is a writable folder). */
export function checkOutputDir(path: string, option: string): void {
  let current = resolve(path);
  for (;;) {
    let stat;
    try {
      stat = statSync(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UsageError(`${option} ${path}: ${reason(error)}`);
      const parent = dirname(current);
      if (parent === current) throw new UsageError(`${option} ${path} cannot be created`);
      current = parent;
      continue;
    }
    if (!stat.isDirectory()) {
      throw new UsageError(current === resolve(path) ? `${option} ${path} is a file, not a folder` : `${option} ${path}: ${current} is a file, not a folder`);
    }
    try {
      accessSync(current, constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new UsageError(`${option} ${path}: ${current} is not writable (${reason(error)})`);
    }
    return;
  }
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

// Option checks shared by the primitives, so each error says what was wrong and what it got.
import { InvalidArgumentError } from './errors.ts';

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  return String(value);
}

/** A finite number ≥ 0 (milliseconds, sizes). `Infinity` only when `allowInfinity`. */
export function checkNonNegative(name: string, value: unknown, allowInfinity = false): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw new InvalidArgumentError(`Expected \`${name}\` to be a ${allowInfinity ? '' : 'finite '}number ≥ 0, got ${show(value)}`);
  }
  return value;
}

/** An integer ≥ `min` (counts, concurrency). `Infinity` only when `allowInfinity`. */
export function checkInteger(name: string, value: unknown, min: number, allowInfinity = false): number {
  const ok = typeof value === 'number' && value >= min && (Number.isInteger(value) || (allowInfinity && value === Infinity));
  if (!ok) throw new InvalidArgumentError(`Expected \`${name}\` to be an integer ≥ ${min}${allowInfinity ? ' or Infinity' : ''}, got ${show(value)}`);
  return value;
}

/** A function. */
export function checkFunction(name: string, value: unknown): void {
  if (typeof value !== 'function') throw new InvalidArgumentError(`Expected \`${name}\` to be a function, got ${show(value)}`);
}

/** An AbortSignal or undefined. */
export function checkSignal(value: unknown): void {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected \`signal\` to be an AbortSignal, got ${show(value)}`);
  }
}

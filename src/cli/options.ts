/** Parsers for option values; each throws a commander error that becomes exit code 2. */
import { InvalidArgumentError } from 'commander';

export function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v))) {
      throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
    }
    return Number(v);
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got '${v}'`);
    return n;
  };
}

export function percent(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError(`${name} must be a percentage in (0, 100], got '${v}'`);
    return n;
  };
}

/** A repeatable option's parser: every value given, in order. */
export function repeatable(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

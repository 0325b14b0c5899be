/**
 * SQL fragments several catalog query modules share. Objects are keyed by mtime in µs, file
 * entries record it in ns: this is the one conversion, floor(mtime_ns / 1000) also for negative
 * (pre-1970) times, as src/model/object-key.ts nsToUs does it in TypeScript.
 */

/** The µs mtime of the entries row aliased `alias`, as objects.mtime_us holds it. */
export function mtimeUsOf(alias: string): string {
  return `(${alias}.mtime_ns - ((${alias}.mtime_ns % 1000) + 1000) % 1000) / 1000`;
}

/**
 * Node's utimes family takes seconds as a double and libuv truncates to microseconds, so an mtime
 * of x.123456789 s passed naively can come back as x.123455. Adding half a microsecond before the
 * truncation makes the inode hold exactly floor(ns / 1000) µs. The catalog keeps the full ns.
 */
import { nsToUs } from '../model/object-key.js';

export function usToUtimeArg(us: bigint): number {
  const sec = us >= 0n ? us / 1_000_000n : -((-us + 999_999n) / 1_000_000n);
  const rem = us - sec * 1_000_000n; // 0 <= rem < 1e6
  return Number(sec) + (Number(rem) * 1000 + 500) / 1e9;
}

export function nsToUtimeArg(ns: bigint): number {
  return usToUtimeArg(nsToUs(ns));
}

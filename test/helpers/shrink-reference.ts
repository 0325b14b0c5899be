/**
 * The shrink guard's rule written out plainly, for model-based tests (independent of
 * src/ops/take/shrink-guard.ts): after a snapshot with files, a source that lost more than
 * `maxPercent` of its files or of its bytes is refused. Integer arithmetic, so a loss of exactly
 * the limit is never mistaken for more.
 */
import type { TreeInfo } from './tree.js';

export interface Totals {
  files: number;
  bytes: number;
}

export function referenceRefuses(previous: Totals | undefined, now: Totals, maxPercent = 50): boolean {
  if (!previous || previous.files === 0) return false;
  const tooMuchGone = (before: number, after: number) => before > 0 && (before - after) * 100 > maxPercent * before;
  return tooMuchGone(previous.files, now.files) || tooMuchGone(previous.bytes, now.bytes);
}

/** Regular files and their bytes in a tree read by readTree: what a take of it would count. */
export function treeTotals(tree: TreeInfo): Totals {
  let files = 0;
  let bytes = 0;
  for (const info of tree.values()) {
    if (info.kind !== 'file') continue;
    files++;
    bytes += info.size;
  }
  return { files, bytes };
}

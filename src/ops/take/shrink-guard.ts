/**
 * The shrink guard of `snap take`: a source that is empty, or has lost more than
 * `take.max-shrink` (default 50 %) of the last snapshot's files or bytes, is refused — nothing is
 * stored and nothing is rotated. An unmounted mount point behind `.latest` (an empty folder), or
 * a sync tool that mirrored a mass delete, would otherwise be stored as a new snapshot with exit 0
 * and, take after take, rotate the real history away.
 *
 * The rule (docs/decisions.md, "A source that shrinks"):
 * - the first take is never refused, even of an empty source (there is nothing to lose);
 * - nor is a take after an empty snapshot: an intentionally empty folder is taken every night
 *   without --allow-shrink (and rotation keeps the newest snapshot with files anyway);
 * - otherwise the share of the last snapshot's files that is gone, and the share of its bytes,
 *   must both be at most take.max-shrink. An empty source has lost 100 %, so it is refused
 *   unless take.max-shrink=100, which turns the guard off.
 * `--allow-shrink` skips the guard for one run.
 */
import type { Catalog } from '../../catalog/catalog.js';
import { readSetting } from '../shared/settings.js';
import { SnapError } from '../../errors.js';

export interface SourceTotals {
  files: number;
  bytes: number;
}

/** What a take's source is compared with: the newest complete snapshot, and the limit. */
export interface ShrinkBaseline {
  previous?: SourceTotals & { name: string };
  /** take.max-shrink: the largest share (percent) of files or bytes a take may lose. */
  maxShrinkPercent: number;
}

/** A refusal: what was seen and how much was lost (percent). */
export interface Shrink {
  previous: SourceTotals & { name: string };
  now: SourceTotals;
  lostFilesPercent: number;
  lostBytesPercent: number;
  maxShrinkPercent: number;
}

/**
 * Read before the walk, so that a damaged saved take.max-shrink stops the take before it reads
 * anything (reported as a catalog error, never guessed at).
 */
export function shrinkBaseline(catalog: Catalog): ShrinkBaseline {
  const previous = catalog
    .listSnapshots()
    .filter((s) => s.state === 'complete')
    .at(-1);
  return {
    previous: previous && { name: previous.name, files: previous.files, bytes: previous.bytes },
    maxShrinkPercent: readSetting(catalog.getConfig(), 'take.max-shrink'),
  };
}

/** The share of `before` that is gone in `after`, in percent (0 when nothing was lost). */
function lostPercent(before: number, after: number): number {
  return before > 0 && after < before ? ((before - after) * 100) / before : 0;
}

/** The rule: a refusal, or undefined when the take may go on. */
export function judgeShrink(baseline: ShrinkBaseline, now: SourceTotals): Shrink | undefined {
  const { previous, maxShrinkPercent } = baseline;
  if (!previous || previous.files === 0) return undefined;
  const lostFilesPercent = lostPercent(previous.files, now.files);
  const lostBytesPercent = lostPercent(previous.bytes, now.bytes);
  if (lostFilesPercent <= maxShrinkPercent && lostBytesPercent <= maxShrinkPercent) return undefined;
  return { previous, now, lostFilesPercent, lostBytesPercent, maxShrinkPercent };
}

const count = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
const totals = (t: SourceTotals) => `${count(t.files, 'file')} (${count(t.bytes, 'byte')})`;
/** Rounded up to a tenth, so a loss just over the limit never shows as equal to it. */
const percent = (p: number) => `${Math.ceil(p * 10) / 10}%`;

/**
 * One line: what the source holds now against the last snapshot (by name), and both ways to
 * take it anyway. `source` is where .latest leads, `root` the backup root.
 */
export function shrinkMessage(s: Shrink, where: { root: string; source: string }): string {
  const seen =
    s.now.files === 0
      ? `the source ${where.source} is empty (no files), but the last snapshot ${s.previous.name} had ${totals(s.previous)}`
      : `the source ${where.source} shrank to ${totals(s.now)} from ${totals(s.previous)} in the last snapshot ${s.previous.name} ` +
        `(${percent(s.lostFilesPercent)} of the files and ${percent(s.lostBytesPercent)} of the bytes gone; take.max-shrink is ${s.maxShrinkPercent}%)`;
  return (
    `${seen}; nothing was stored. Check that it is mounted and complete; to take it anyway: ` +
    `snap take ${where.root} --allow-shrink (this run), or snap config ${where.root} take.max-shrink=<percent> (100: never refuse)`
  );
}

/** Throw the refusal (SOURCE_SHRANK) when the rule refuses this source. */
export function refuseIfShrunk(baseline: ShrinkBaseline, now: SourceTotals, where: { root: string; source: string }): void {
  const s = judgeShrink(baseline, now);
  if (s) throw new SnapError('SOURCE_SHRANK', shrinkMessage(s, where));
}

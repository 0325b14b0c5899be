/**
 * `snap gc`: finish or undo interrupted runs, then collect garbage (collect-garbage.ts) and
 * every stray file in .snap/objects; empty .snap/trash after unlocking. Deletes only names
 * linksnap gives; reports the rest.
 */
import { openRoot, lockRoot } from '../shared/root.js';
import { recover, emptyTrash, findLeftovers, trashContents } from '../shared/recover.js';
import { collectGarbage, type GcResult } from './collect-garbage.js';

export interface GcReport extends GcResult {
  /** Leftovers of interrupted runs removed (or, with dryRun, found). */
  tmpFiles: number;
  stagingFolders: number;
  /** Interrupted removals finished and rotated-out folders deleted from .snap/trash. */
  unfinishedRemovals: number;
  trashFolders: number;
  seconds: number;
}

/**
 * `snap gc`: under the lock, finish or undo interrupted runs (recover: tmp files, staging
 * folders, half-done removals), then remove unreferenced objects and trees and every stray file
 * in .snap/objects; after releasing the lock, empty .snap/trash. `dryRun` holds the lock too (so
 * a running take's files are not counted as leftovers) but changes nothing. Whatever is in a
 * store folder under a name linksnap never gives is left alone and listed in `unknown`.
 */
export async function gc(rootArg: string, opts: { dryRun?: boolean; waitMs?: number } = {}): Promise<GcReport> {
  const t0 = process.hrtime.bigint();
  const dryRun = opts.dryRun ?? false;
  const root = openRoot(rootArg, { readonly: dryRun });
  let lock;
  let report: GcReport;
  try {
    lock = lockRoot(root, dryRun ? 'gc --dry-run' : 'gc', opts.waitMs);
    const { layout, catalog } = root;
    let leftovers: Pick<GcReport, 'tmpFiles' | 'stagingFolders' | 'unfinishedRemovals' | 'unknown'>;
    if (dryRun) {
      const found = findLeftovers(layout);
      leftovers = {
        tmpFiles: found.tmp.length,
        // A staged folder of a committed snapshot is published by recovery, not removed.
        stagingFolders: found.staging.filter((n) => catalog.getSnapshot(n)?.state !== 'complete').length,
        unfinishedRemovals: catalog.listSnapshots().filter((s) => s.state === 'deleting').length,
        unknown: found.unknown,
      };
    } else {
      const rec = await recover(root);
      leftovers = { tmpFiles: rec.tmpFilesRemoved, stagingFolders: rec.stagingRemoved.length, unfinishedRemovals: rec.prunesFinished.length, unknown: rec.unknown };
    }
    const trash = trashContents(layout);
    const swept = await collectGarbage(root, { dryRun, sweepStrays: true });
    const unknown = [...leftovers.unknown, ...swept.unknown, ...trash.unknown].sort();
    report = { ...swept, ...leftovers, unknown, trashFolders: trash.ours.length, seconds: 0 };
  } finally {
    lock?.release();
    root.close();
  }
  if (!dryRun) await emptyTrash(root);
  report.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return report;
}

/**
 * Removing snapshots (rotation and prune). Plan-then-execute, crash-safe at every step:
 *   1. mark the rows 'deleting'            (a crash now: recovery finishes the job)
 *   2. rename each dated folder into .snap/trash (cheap; the slow delete happens later)
 *   3. delete the rows                     (the snapshot is gone; its blobs are now garbage)
 * The caller deletes .snap/trash (emptyTrash) only after releasing the lock, so a folder of
 * hundreds of thousands of hard links never holds up the next take.
 * Dated folders that the catalog does not know (e.g. the seed script's) are never touched, and
 * a name that is not a dated-folder name (a tampered row: `.latest`, `../x`) refuses the removal
 * before anything changes.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import { errnoCode } from '../../errors.js';
import { fsyncDir } from '../../store/durability.js';
import { faultPoint } from '../../util/fault.js';
import { assertSnapshotName } from '../../model/snapshot-name.js';

/**
 * A free name in .snap/trash for `name`. Normally `trash/<name>`; if an earlier delete of a
 * folder with that name was interrupted (a name can repeat after the clock went back), a
 * suffixed one, because rename(2) cannot replace a non-empty folder.
 */
export async function trashPath(trash: string, name: string): Promise<string> {
  assertSnapshotName(name);
  for (let i = 0; ; i++) {
    const p = path.join(trash, i === 0 ? name : `${name}.${i}`);
    try {
      await fsp.lstat(p);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return p;
      throw e;
    }
  }
}

export async function removeSnapshots(root: Root, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  // Each name becomes <root>/<name>, renamed away: all are checked before the first row changes.
  for (const n of names) assertSnapshotName(n);
  const { catalog, layout } = root;
  catalog.transaction(() => {
    for (const n of names) catalog.setSnapshotState(n, 'deleting');
  });
  faultPoint('remove:marked');
  for (const n of names) {
    try {
      await fsp.rename(path.join(layout.root, n), await trashPath(layout.trash, n));
      faultPoint('remove:renamed');
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e; // already missing: nothing to move
    }
  }
  await fsyncDir(layout.root);
  catalog.transaction(() => {
    for (const n of names) catalog.deleteSnapshot(n);
  });
  faultPoint('remove:deleted');
}

/**
 * Removing snapshots (rotation and prune). Plan-then-execute, crash-safe at every step:
 *   1. mark the rows 'deleting'            (a crash now: recovery finishes the job)
 *   2. rename each dated folder into .snap/trash (cheap; the slow delete happens later)
 *   3. delete the rows                     (the snapshot is gone; its blobs are now garbage)
 * Dated folders that the catalog does not know (e.g. the seed script's) are never touched.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import { errnoCode } from '../errors.js';
import { fsyncDir } from '../store/durability.js';
import { faultPoint } from '../util/fault.js';

export async function removeSnapshots(root: Root, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const { catalog, layout } = root;
  catalog.transaction(() => {
    for (const n of names) catalog.setSnapshotState(n, 'deleting');
  });
  faultPoint('remove:marked');
  for (const n of names) {
    try {
      await fsp.rename(path.join(layout.root, n), path.join(layout.trash, n));
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

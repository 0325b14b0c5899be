/**
 * Garbage collection: mark from the catalog (the truth), sweep what nothing references. Link
 * counts are never used to decide; they are only a cross-check in verify.
 *
 * Order: catalog rows go first (one transaction), files after. A crash in between leaves files
 * the catalog does not know (strays), never a row without its file: a gc killed at any point
 * leaves every complete snapshot's objects in place (test/fault/gc-crash.test.ts). The store is
 * marked dirty meanwhile, so the next take sweeps the strays before it links anything, and the
 * next full gc (`snap gc`) removes them too.
 *
 * Concurrency: every run that writes objects or rows (take, prune, gc, materialize) holds the
 * root's lock, so a gc never sees a take's uncommitted objects. No grace period is needed
 * (docs/retention.md, "gc and concurrent runs").
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from '../shared/root.js';
import { isFanOutName, isObjectKeyInScheme, objectPath, parseObjectFileIn } from '../../store/layout.js';
import { SnapError } from '../../errors.js';
import { faultPoint } from '../../util/fault.js';
import { listDir, lstatOrUndefined } from '../../util/fs.js';
import { clearDirty, isDirty, markDirty } from '../shared/dirty.js';
import { deleteDeadTrees, unreferencedAfterRemoval } from '../../catalog/gc-queries.js';

export interface GcResult {
  /** Unreferenced objects removed (rows and every replica file). */
  objects: number;
  bytes: number;
  /** Unreachable tree records removed. */
  trees: number;
  /** Object files in .snap/objects the catalog does not know (left by interrupted runs). */
  strays: number;
  strayBytes: number;
  /**
   * What .snap/objects holds under a name linksnap never gives (paths relative to the root):
   * reported, never deleted. Filled by the stray sweep only.
   */
  unknown: string[];
  dryRun: boolean;
}

export interface GcOptions {
  dryRun?: boolean;
  /**
   * Mark only from the snapshots removed since the last gc (catalog/gc-queries.ts): what take's
   * rotation uses. A full mark (the default) also finds garbage that nothing removed just now
   * left, which a healthy store does not have.
   */
  incremental?: boolean;
  /** Also list .snap/objects for files the catalog does not know (a full scan of the store). */
  sweepStrays?: boolean;
}

export async function collectGarbage(root: Root, opts: GcOptions = {}): Promise<GcResult> {
  const { catalog, layout } = root;
  const dryRun = opts.dryRun ?? false;
  const result: GcResult = { objects: 0, bytes: 0, trees: 0, strays: 0, strayBytes: 0, unknown: [], dryRun };

  const doomed = opts.incremental ? unreferencedAfterRemoval(catalog, catalog.removedRoots()) : catalog.unreferencedObjects();
  // A row's key becomes the path deleted below: a malformed row (a hash stored as text could
  // spell `../..`) refuses the run before any row or file goes.
  for (const o of doomed) {
    if (!isObjectKeyInScheme(o) || !Number.isSafeInteger(o.replicas)) {
      throw new SnapError('UNSAFE_PATH', 'refusing a malformed objects row from the catalog', {
        hint: 'the catalog is damaged or was tampered with; nothing was deleted. Run `snap verify <root>`',
      });
    }
  }
  result.objects = doomed.length;
  result.bytes = doomed.reduce((s, o) => s + o.size * o.replicas, 0);
  if (!dryRun) {
    // Between the rows and the files, the files are strays: mark the store dirty first, so that
    // a gc killed in between leaves the next take to sweep them before it trusts any object name
    // (a quick-check record could otherwise name one; ops/shared/dirty.ts).
    const wasDirty = isDirty(root);
    if (doomed.length > 0) await markDirty(root);
    catalog.transaction(() => {
      result.trees = opts.incremental ? deleteDeadTrees(catalog) : catalog.deleteUnreachableTrees();
      for (const o of doomed) catalog.deleteObject(o);
      // A scan of every entry: only where attributes were ever recorded.
      if (catalog.hasXattrSets()) catalog.deleteUnusedXattrSets();
      catalog.clearRemovedRoots();
    });
    faultPoint('gc:rows-deleted');
    for (const o of doomed) {
      for (let r = 0; r < o.replicas; r++) {
        await fsp.rm(objectPath(layout, o, r), { force: true });
        faultPoint('gc:unlinked');
      }
    }
    if (!wasDirty) clearDirty(root);
  }

  if (opts.sweepStrays) await sweepStrays(root, result, dryRun);
  return result;
}

/**
 * Remove (or count) the object files in .snap/objects that are not files of a catalog object.
 * Only names of the object scheme in their own fan-out folder are strays; anything else there
 * (another name, a folder where a file belongs) is not linksnap's: reported, left in place.
 */
async function sweepStrays(root: Root, result: GcResult, dryRun: boolean): Promise<void> {
  const { catalog, layout } = root;
  const unknown = (p: string) => result.unknown.push(path.relative(layout.root, p));
  for (const fan of listDir(layout.objects)) {
    const dir = path.join(layout.objects, fan);
    const st = lstatOrUndefined(dir);
    if (!st) continue; // gone meanwhile
    if (!isFanOutName(fan) || !st.isDirectory()) {
      unknown(dir);
      continue;
    }
    for (const name of listDir(dir)) {
      const p = path.join(dir, name);
      const parsed = parseObjectFileIn(fan, name);
      if (!parsed) {
        unknown(p);
        continue;
      }
      const row = catalog.getObject(parsed.key);
      if (row && parsed.replica < row.replicas) continue;
      const st = lstatOrUndefined(p);
      if (!st) continue; // gone meanwhile
      if (st.isDirectory()) {
        unknown(p);
        continue;
      }
      result.strays++;
      result.strayBytes += st.isFile() ? Number(st.size) : 0;
      if (!dryRun) {
        await fsp.rm(p, { force: true });
        faultPoint('gc:stray-removed');
      }
    }
  }
}

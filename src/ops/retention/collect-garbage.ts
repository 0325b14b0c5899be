/**
 * Garbage collection: mark from the catalog (the truth), sweep what nothing references. Link
 * counts are never used to decide; they are only a cross-check in verify.
 *
 * Order: catalog rows go first (one transaction), files after. A crash in between leaves files
 * the catalog does not know (strays), never a row without its file: a gc killed at any point
 * leaves every complete snapshot's objects in place (test/fault/gc-crash.test.ts). The next
 * full gc (`snap gc`) removes the strays.
 *
 * Concurrency: every run that writes objects or rows (take, prune, gc, materialize) holds the
 * root's lock, so a gc never sees a take's uncommitted objects. No grace period is needed
 * (docs/retention.md, "gc and concurrent runs").
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from '../shared/root.js';
import { objectPath, parseObjectName } from '../../store/layout.js';
import { faultPoint } from '../../util/fault.js';
import { listDir, lstatOrUndefined } from '../../util/fs.js';

export interface GcResult {
  /** Unreferenced objects removed (rows and every replica file). */
  objects: number;
  bytes: number;
  /** Unreachable tree records removed. */
  trees: number;
  /** Files in .snap/objects the catalog does not know (left by interrupted runs). */
  strays: number;
  strayBytes: number;
  dryRun: boolean;
}

export interface GcOptions {
  dryRun?: boolean;
  /** Also list .snap/objects for files the catalog does not know (a full scan of the store). */
  sweepStrays?: boolean;
}


export async function collectGarbage(root: Root, opts: GcOptions = {}): Promise<GcResult> {
  const { catalog, layout } = root;
  const dryRun = opts.dryRun ?? false;
  const result: GcResult = { objects: 0, bytes: 0, trees: 0, strays: 0, strayBytes: 0, dryRun };

  const doomed = catalog.unreferencedObjects();
  result.objects = doomed.length;
  result.bytes = doomed.reduce((s, o) => s + o.size * o.replicas, 0);
  if (!dryRun) {
    catalog.transaction(() => {
      result.trees = catalog.deleteUnreachableTrees();
      for (const o of doomed) catalog.deleteObject(o);
    });
    faultPoint('gc:rows-deleted');
    for (const o of doomed) {
      for (let r = 0; r < o.replicas; r++) {
        await fsp.rm(objectPath(layout, o, r), { force: true });
        faultPoint('gc:unlinked');
      }
    }
  }

  if (opts.sweepStrays) await sweepStrays(root, result, dryRun);
  return result;
}

/** Remove (or count) everything in .snap/objects that is not a file of a catalog object. */
async function sweepStrays(root: Root, result: GcResult, dryRun: boolean): Promise<void> {
  const { catalog, layout } = root;
  const drop = async (p: string) => {
    const st = lstatOrUndefined(p);
    result.strays++;
    result.strayBytes += st?.isFile() ? Number(st.size) : 0;
    if (!dryRun) {
      await fsp.rm(p, { force: true, recursive: true });
      faultPoint('gc:stray-removed');
    }
  };
  for (const fan of listDir(layout.objects)) {
    const dir = path.join(layout.objects, fan);
    const st = lstatOrUndefined(dir);
    if (!st) continue;
    // Fan-out folders are the first hash byte in hex; anything else here is not linksnap's.
    if (!st.isDirectory() || !/^[0-9a-f]{2}$/.test(fan)) {
      await drop(dir);
      continue;
    }
    for (const name of listDir(dir)) {
      const parsed = parseObjectName(name);
      const row = parsed && parsed.key.hash.toString('hex', 0, 1) === fan ? catalog.getObject(parsed.key) : undefined;
      if (row && parsed!.replica < row.replicas) continue;
      await drop(path.join(dir, name));
    }
  }
}

/**
 * Garbage collection: mark from the catalog (the truth), sweep what nothing references. Link
 * counts are never used to decide; they are only a cross-check in verify.
 *
 * Order: catalog rows go first (one transaction), files after. A crash in between leaves files
 * the catalog does not know: strays, which the next full gc removes and which a take never
 * trusts (it replaces an unknown object file instead of linking to it).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import { objectPath, parseObjectName } from '../store/layout.js';
import { errnoCode } from '../errors.js';
import { faultPoint } from '../util/fault.js';

export interface GcResult {
  objects: number;
  bytes: number;
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
    for (const o of doomed) {
      for (let r = 0; r < o.replicas; r++) {
        await fsp.rm(objectPath(layout, o, r), { force: true });
        faultPoint('gc:unlinked');
      }
    }
  }

  if (opts.sweepStrays) {
    for (const fan of await fsp.readdir(layout.objects)) {
      const dir = path.join(layout.objects, fan);
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch (e) {
        if (errnoCode(e) === 'ENOTDIR') names = [];
        else throw e;
      }
      for (const name of names) {
        const parsed = parseObjectName(name);
        const row = parsed && parsed.key.hash.toString('hex', 0, 1) === fan ? catalog.getObject(parsed.key) : undefined;
        if (row && parsed!.replica < row.replicas) continue;
        const p = path.join(dir, name);
        const st = await fsp.lstat(p).catch(() => undefined);
        result.strays++;
        result.strayBytes += st?.isFile() ? st.size : 0;
        if (!dryRun) await fsp.rm(p, { force: true, recursive: true });
      }
    }
  }
  return result;
}

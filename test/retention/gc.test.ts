import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { gc } from '../../src/ops/retention/gc.js';
import { openRoot, lockRoot } from '../../src/ops/shared/root.js';
import { removeSnapshots } from '../../src/ops/shared/remove.js';
import { objectPath } from '../../src/store/layout.js';
import { nsToUs } from '../../src/model/object-key.js';
import { Kind } from '../../src/model/entry.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { diffTrees } from '../helpers/tree.js';
import { neededObjectFiles, objectDirListing, rootState, storeProblems } from '../helpers/store-check.js';

process.env.LINKSNAP_NO_SYNC = '1';

async function twoSnapshots() {
  const { root, latest } = newRoot();
  const now = steppingClock();
  fs.writeFileSync(path.join(latest, 'keep'), 'kept by both');
  fs.writeFileSync(path.join(latest, 'old'), 'only in the first snapshot');
  const first = await take(root, { now, racyWindowMs: 0 });
  fs.rmSync(path.join(latest, 'old'));
  fs.writeFileSync(path.join(latest, 'new'), 'only in the second');
  const second = await take(root, { now, racyWindowMs: 0 });
  return { root, latest, first: first.snapshot, second: second.snapshot };
}

/** Leftovers of killed runs: a tmp file, an uncommitted staging folder, stray object files. */
function litter(root: string): number {
  const snap = path.join(root, '.snap');
  fs.writeFileSync(path.join(snap, 'tmp/123-0123456789abcdef'), 'half a blob');
  fs.mkdirSync(path.join(snap, 'staging/2030-01-01_00.00.00/sub'), { recursive: true });
  const fake = 'ab'.repeat(32) + '_644_0_0_1';
  fs.mkdirSync(path.join(snap, 'objects/ab'), { recursive: true });
  fs.writeFileSync(path.join(snap, 'objects/ab', fake), 'never committed'); // 15 bytes
  fs.writeFileSync(path.join(snap, 'objects/ab', fake + '_r1'), 'a replica'); // 9 bytes
  return 15 + 9;
}

/** Files linksnap never names: gc reports them and leaves them where they are. */
const FOREIGN = ['.snap/objects/ab/garbage.txt', '.snap/objects/not-a-fan'];

describe('snap gc', () => {
  it('removes unreferenced objects (every replica), unreachable trees and leftovers; keeps everything live', async () => {
    const { root, first } = await twoSnapshots();
    const r0 = openRoot(root);
    const lock = lockRoot(r0, 'test');
    let oldKey;
    try {
      // Give the first snapshot's `old` object a link-limit replica, then make it garbage
      // without gc (as a prune killed after removing the rows would).
      const e = r0.catalog.treeEntries(r0.catalog.getSnapshot(first)!.rootTree).find((x) => x.name.toString() === 'old')!;
      expect(e.kind).toBe(Kind.File);
      oldKey = { hash: e.hash!, mode: e.mode, uid: e.uid, gid: e.gid, mtimeUs: nsToUs(e.mtimeNs) };
      fs.copyFileSync(objectPath(r0.layout, oldKey), objectPath(r0.layout, oldKey, 1));
      r0.catalog.setReplicas(oldKey, 2);
      await removeSnapshots(r0, [first]);
    } finally {
      lock.release();
      r0.close();
    }
    const strayBytes = litter(root);
    for (const p of FOREIGN) fs.writeFileSync(path.join(root, p), 'not linksnap’s');
    const before = rootState(root);

    const dry = await gc(root, { dryRun: true });
    expect(diffTrees(before, rootState(root))).toEqual([]); // --dry-run changes nothing
    expect(dry).toMatchObject({ dryRun: true, objects: 1, bytes: 2 * 'only in the first snapshot'.length, strays: 2, strayBytes, tmpFiles: 1, stagingFolders: 1, unknown: FOREIGN });

    const r = await gc(root);
    expect(r).toMatchObject({ dryRun: false, objects: 1, bytes: dry.bytes, strays: 2, strayBytes, tmpFiles: 1, stagingFolders: 1, trashFolders: 1, unknown: FOREIGN });
    for (const p of FOREIGN) expect(fs.readFileSync(path.join(root, p), 'utf8')).toBe('not linksnap’s');
    for (const p of FOREIGN) fs.rmSync(path.join(root, p));
    expect(r.trees).toBe(1); // the first snapshot's root tree
    expect(fs.existsSync(objectPath(openRoot(root, { readonly: true }).layout, oldKey!, 1))).toBe(false);
    expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
    expect(storeProblems(root)).toEqual([]);
    for (const d of ['tmp', 'staging', 'trash']) expect(fs.readdirSync(path.join(root, '.snap', d))).toEqual([]);
    // A second gc finds nothing.
    expect(await gc(root)).toMatchObject({ objects: 0, bytes: 0, trees: 0, strays: 0, tmpFiles: 0, stagingFolders: 0, unknown: [] });
  });

  it('keeps link-limit replicas of live objects', async () => {
    const { root } = await twoSnapshots();
    const r0 = openRoot(root);
    const obj = [...r0.catalog.iterateObjects()][0]!;
    fs.copyFileSync(objectPath(r0.layout, obj), objectPath(r0.layout, obj, 1));
    r0.catalog.setReplicas(obj, 2);
    fs.copyFileSync(objectPath(r0.layout, obj), objectPath(r0.layout, obj, 2)); // beyond the count: a stray
    r0.close();
    const r = await gc(root);
    expect(r).toMatchObject({ objects: 0, strays: 1 });
    expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
    expect(neededObjectFiles(root).some((n) => n.endsWith('_r1'))).toBe(true);
  });

  it('publishes a committed snapshot still in staging instead of deleting it', async () => {
    const { root, second } = await twoSnapshots();
    fs.renameSync(path.join(root, second), path.join(root, '.snap/staging', second)); // killed before the rename
    const r = await gc(root);
    expect(r.stagingFolders).toBe(0);
    expect(fs.existsSync(path.join(root, second))).toBe(true);
    expect(storeProblems(root)).toEqual([]);
  });

  it('waits for the lock: never runs beside a take', async () => {
    const { root } = await twoSnapshots();
    const r0 = openRoot(root);
    const lock = lockRoot(r0, 'take');
    try {
      await expect(gc(root, { waitMs: 0 })).rejects.toMatchObject({ code: 'LOCKED' });
      await expect(gc(root, { waitMs: 0, dryRun: true })).rejects.toMatchObject({ code: 'LOCKED' });
    } finally {
      lock.release();
      r0.close();
    }
  });
});

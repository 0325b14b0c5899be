/**
 * Building a dated folder from the catalog: the one builder that take's recovery, materialize,
 * repair and pull all use, so every folder linksnap makes from the catalog is made the same way.
 *
 * Safety: the folder is built inside a fresh folder this run created (mkdir fails on anything
 * that exists), entry by entry from walkSnapshot, which re-checks every name from the catalog with
 * isSafeName; so a hostile catalog (`..`, `/`, absolute names) cannot address anything outside,
 * and nothing is ever written through a symlink (a symlink entry is created, never entered).
 *
 * In place (rebuildInPlace), the swap is crash-safe at every step (docs/verify.md):
 *   build in .snap/staging/<name>.building-<rand>   (killed: recovery deletes it)
 *   rename it to .snap/staging/<name>               (killed: recovery publishes it if the
 *                                                     dated folder is missing, else deletes it)
 *   move what in the old dated folder is not the    (killed: each item is in one place or the
 *   snapshot's into .snap/lost+found                 other; the next run moves the rest)
 *   rename the old dated folder into .snap/trash    (killed: recovery publishes the new one)
 *   rename .snap/staging/<name> to <root>/<name>
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Root } from './root.js';
import { removeTree } from '../../util/fs.js';
import { finishDir, makeDir, placeSymlink, refuseNothing, renameDir, type RefusedXattr } from './place.js';
import { recordedXattrs, type ObjectPlacer } from './object-placer.js';
import { LostFound, saveForeign, type SavedPath } from './lost-found.js';
import { walkSnapshot } from './snapshot-tree.js';
import type { Catalog, SnapshotRow } from '../../catalog/catalog.js';
import { Kind, type EntryMeta } from '../../model/entry.js';
import { objectKeyOf, type ObjectKey } from '../../model/object-key.js';
import { fsyncDir, syncFileSystem } from '../../store/durability.js';
import { nsToUtimeArg } from '../../store/times.js';
import { joinPath, showName } from '../../util/paths.js';
import { faultPoint } from '../../util/fault.js';
import { SnapError } from '../../errors.js';
import { lexists } from '../../util/fs.js';
import { assertSnapshotName } from '../../model/snapshot-name.js';

/** What a build placed. */
export interface BuildCounts {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Files hard-linked to their object / copied (--to on another file system, or --copy). */
  linked: number;
  copied: number;
}

export interface MaterializedSnapshot extends BuildCounts {
  name: string;
  path: string;
  /** In-place rebuilds: what the old folder held that was not the snapshot's, moved into .snap/lost+found. */
  saved: SavedPath[];
}

export type PlaceFile = (key: ObjectKey, size: number, dest: Buffer) => Promise<'linked' | 'copied'>;

function rootMeta(s: SnapshotRow): EntryMeta & { xattrs: Buffer } {
  return { mode: s.rootMode, uid: s.rootUid, gid: s.rootGid, mtimeNs: s.rootMtimeNs, xattrs: s.rootXattrs };
}

/**
 * What to do with extended attributes a folder being built refuses: in the store (rebuilds,
 * pull) nothing may be refused; elsewhere (materialize --to) the caller decides.
 */
export type OnRefusedXattrs = (p: Buffer, refused: RefusedXattr[]) => void;

/** Files placed at once (links and copies overlap their system calls). */
const PLACE_WINDOW = 32;

/**
 * Build snapshot `snap` inside `top`, a fresh empty folder this run created. Folders get their
 * metadata after their contents (as take does); the top folder last.
 */
export async function buildSnapshot(
  catalog: Catalog,
  snap: SnapshotRow,
  top: Buffer,
  place: PlaceFile,
  owners: boolean,
  counts: BuildCounts,
  tick?: (bytes: number) => void,
  onRefused: OnRefusedXattrs = (p, refused) => refuseNothing(refused, p),
): Promise<void> {
  const open: { abs: Buffer; meta: EntryMeta & { xattrs?: Buffer }; depth: number }[] = [];
  // A folder's attributes after its contents, with its mode and mtime (place.ts finishDir).
  const finish = async (abs: Buffer, meta: EntryMeta & { xattrs?: Buffer }) => {
    const refused = await finishDir(abs, meta, owners, recordedXattrs(catalog, meta.xattrs));
    if (refused.length > 0) onRefused(abs, refused);
  };
  let pending: Promise<unknown>[] = [];
  const drain = async () => {
    const batch = pending;
    pending = [];
    const res = await Promise.allSettled(batch);
    const failed = res.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failed) throw failed.reason;
  };
  const closeTo = async (depth: number) => {
    while (open.length && open[open.length - 1]!.depth >= depth) {
      await drain(); // a folder's metadata goes on after everything inside it exists
      const d = open.pop()!;
      await finish(d.abs, d.meta);
    }
  };
  try {
    // walkSnapshot refuses a cycle or an absurd depth (UNSAFE_PATH) before descending.
    for (const { rel, entry, depth } of walkSnapshot(catalog, snap)) {
      await closeTo(depth);
      const dest = joinPath(top, rel);
      if (entry.kind === Kind.Dir) {
        await drain();
        await makeDir(dest);
        open.push({ abs: dest, meta: entry, depth });
        counts.dirs++;
      } else if (entry.kind === Kind.Symlink) {
        if (!entry.target) throw new SnapError('CATALOG', `symlink ${showName(rel)} of ${snap.name} has no target in the catalog`);
        await placeSymlink(entry.target, dest, entry, owners);
        counts.symlinks++;
      } else if (entry.kind === Kind.File) {
        if (!entry.hash) throw new SnapError('CATALOG', `file ${showName(rel)} of ${snap.name} has no hash in the catalog`);
        const key = objectKeyOf(entry.hash, entry);
        const size = entry.size;
        pending.push(
          place(key, size, dest).then((how) => {
            if (how === 'linked') counts.linked++;
            else counts.copied++;
            counts.files++;
            counts.bytes += size;
            tick?.(size);
          }),
        );
        if (pending.length >= PLACE_WINDOW) await drain();
      } else {
        throw new SnapError('CATALOG', `entry ${showName(rel)} of ${snap.name} has an unknown kind in the catalog`);
      }
    }
    await closeTo(1);
    await drain();
  } catch (e) {
    await Promise.allSettled(pending); // nothing keeps writing into a folder being removed
    throw e;
  }
  await finish(top, rootMeta(snap));
}

export function emptyCounts(name: string, p: string): MaterializedSnapshot {
  return { name, path: p, files: 0, dirs: 0, symlinks: 0, bytes: 0, linked: 0, copied: 0, saved: [] };
}

/**
 * Rebuild one dated folder in place (the caller holds the lock and ran recover()). Whatever the
 * old folder holds that is not the snapshot's is moved into .snap/lost+found (`lostFound`, one
 * per run; lost-found.ts); the rest of it ends up in .snap/trash, which the caller empties
 * after unlocking.
 */
export async function rebuildInPlace(
  root: Root,
  snap: SnapshotRow,
  placer: ObjectPlacer,
  tick?: (bytes: number) => void,
  lostFound: LostFound = new LostFound(root.layout),
): Promise<MaterializedSnapshot> {
  assertSnapshotName(snap.name);
  const { layout } = root;
  const final = path.join(layout.root, snap.name);
  const counts = emptyCounts(snap.name, final);
  const building = path.join(layout.staging, `${snap.name}.building-${randomBytes(4).toString('hex')}`);
  await fsp.mkdir(building, { mode: 0o700 });
  try {
    await buildSnapshot(root.catalog, snap, Buffer.from(building), (key, _size, dest) => placer.link(key, dest).then(() => 'linked' as const), root.asRoot, counts, tick);
    faultPoint('materialize:built');
    await syncFileSystem(layout.store);
  } catch (e) {
    await removeTree(building).catch(() => {}); // else the next run's recovery removes it
    throw e;
  }
  const ready = path.join(layout.staging, snap.name);
  await renameDir(building, ready);
  faultPoint('materialize:staged');
  if (lexists(final)) {
    // Only after the new folder is complete: a failed build leaves the old one untouched.
    const before = lostFound.saved.length;
    await saveForeign(root, snap, Buffer.from(final), Buffer.from(ready), lostFound);
    counts.saved = lostFound.saved.slice(before);
  }
  if (lexists(final)) { // (a non-folder standing there went to lost+found itself)
    await renameDir(final, path.join(layout.trash, `${snap.name}.old-${randomBytes(4).toString('hex')}`));
    faultPoint('materialize:old-moved');
  }
  await renameDir(ready, final);
  const t = nsToUtimeArg(snap.rootMtimeNs);
  await fsp.utimes(final, t, t); // as take does: the move must not leave another mtime behind
  await fsyncDir(layout.root);
  faultPoint('materialize:published');
  return counts;
}


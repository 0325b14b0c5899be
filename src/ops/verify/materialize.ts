/**
 * `snap materialize`: rebuild dated folders from the catalog, exactly as `take` made them (same
 * names and metadata, hard links to the same objects), or build a snapshot somewhere else
 * (`--to`, the whole-snapshot restore path).
 *
 * Safety: the folder is built inside a fresh folder this run created (mkdir fails on anything
 * that exists), entry by entry from walkTree, which re-checks every name from the catalog with
 * isSafeName; so a hostile catalog (`..`, `/`, absolute names) cannot address anything outside,
 * and nothing is ever written through a symlink (a symlink entry is created, never entered).
 *
 * In place, the swap is crash-safe at every step (docs/verify.md):
 *   build in .snap/staging/<name>.building-<rand>   (killed: recovery deletes it)
 *   rename it to .snap/staging/<name>               (killed: recovery publishes it if the
 *                                                     dated folder is missing, else deletes it)
 *   rename the old dated folder into .snap/trash    (killed: recovery publishes the new one)
 *   rename .snap/staging/<name> to <root>/<name>
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openRoot, withLockedRoot, type Root } from '../shared/root.js';
import { recover, emptyTrash, removeTree } from '../shared/recover.js';
import { ObjectPlacer, ObjectMissing } from '../shared/object-placer.js';
import { finishDir, makeDir, placeSymlink } from '../shared/place.js';
import { getSnapshotOrThrow, walkTree } from '../shared/snapshot-tree.js';
import type { Catalog, SnapshotRow } from '../../catalog/catalog.js';
import { beginRead, endRead } from '../../catalog/verify-queries.js';
import { Kind, type EntryMeta } from '../../model/entry.js';
import { SNAPSHOT_NAME_RE, nsToUs, objectPath, type ObjectKey } from '../../store/layout.js';
import { fsyncDir, syncFileSystem } from '../../store/durability.js';
import { nsToUtimeArg, usToUtimeArg } from '../../store/times.js';
import { joinPath, showName } from '../../util/paths.js';
import { faultPoint } from '../../util/fault.js';
import { SnapError, errnoCode, wrapFsError } from '../../errors.js';
import { MAX_TREE_DEPTH } from './check-folders.js';
import { damagedFolders } from './verify.js';

export interface MaterializeProgress {
  doneItems: number;
  totalItems: number;
  doneBytes: number;
  totalBytes: number;
}

export interface MaterializeOptions {
  /** Snapshots to rebuild; default: every complete snapshot whose folder is missing or damaged. */
  snapshots?: string[];
  /** Rebuild every complete snapshot. */
  all?: boolean;
  /** Build the snapshot (one; default the newest) in this folder instead of in the root. */
  to?: string;
  /** With --to: always make independent copies, never hard links into the store. */
  copy?: boolean;
  /** How long to wait for another run's lock (ms; in-place rebuilds only). */
  waitMs?: number;
  onProgress?: (p: MaterializeProgress) => void;
}

export interface MaterializedSnapshot {
  name: string;
  path: string;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Files hard-linked to their object / copied (--to on another file system, or --copy). */
  linked: number;
  copied: number;
}

export interface MaterializeResult {
  root: string;
  /** The target folder with --to; undefined for in-place rebuilds. */
  to?: string;
  snapshots: MaterializedSnapshot[];
  seconds: number;
}

/** How a file lands in the folder being built. */
export type PlaceFile = (key: ObjectKey, size: number, dest: Buffer) => Promise<'linked' | 'copied'>;

/** Snapshot names become paths: only the seed's exact format is accepted from the catalog. */
export function assertSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME_RE.test(name)) {
    throw new SnapError('UNSAFE_PATH', `refusing snapshot name ${JSON.stringify(name)} from the catalog`, {
      hint: 'the catalog is damaged or was tampered with; run `snap verify`',
    });
  }
}

function rootMeta(s: SnapshotRow): EntryMeta {
  return { mode: s.rootMode, uid: s.rootUid, gid: s.rootGid, mtimeNs: s.rootMtimeNs };
}

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
  counts: MaterializedSnapshot,
  tick?: (bytes: number) => void,
): Promise<void> {
  const open: { abs: Buffer; meta: EntryMeta; depth: number; tree: number | undefined }[] = [];
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
      await finishDir(d.abs, d.meta, owners);
    }
  };
  try {
    for (const { rel, entry, depth } of walkTree(catalog, snap.rootTree)) {
      if (depth > MAX_TREE_DEPTH) throw new SnapError('UNSAFE_PATH', `the catalog's folders of ${snap.name} nest deeper than ${MAX_TREE_DEPTH} levels (a cycle?)`);
      await closeTo(depth);
      const dest = joinPath(top, rel);
      if (entry.kind === Kind.Dir) {
        // `open` now holds exactly this folder's ancestors: one of them again means a cycle.
        if (entry.subtree === snap.rootTree || open.some((o) => o.tree === entry.subtree)) {
          throw new SnapError('UNSAFE_PATH', `the catalog's folders of ${snap.name} form a cycle at ${showName(rel)}`, {
            hint: 'the catalog is damaged or was tampered with; run `snap verify`',
          });
        }
        await drain();
        await makeDir(dest);
        open.push({ abs: dest, meta: entry, depth, tree: entry.subtree });
        counts.dirs++;
      } else if (entry.kind === Kind.Symlink) {
        if (!entry.target) throw new SnapError('CATALOG', `symlink ${showName(rel)} of ${snap.name} has no target in the catalog`);
        await placeSymlink(entry.target, dest, entry, owners);
        counts.symlinks++;
      } else if (entry.kind === Kind.File) {
        if (!entry.hash) throw new SnapError('CATALOG', `file ${showName(rel)} of ${snap.name} has no hash in the catalog`);
        const key: ObjectKey = { hash: entry.hash, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtimeUs: nsToUs(entry.mtimeNs) };
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
  await finishDir(top, rootMeta(snap), owners);
}

function emptyCounts(name: string, p: string): MaterializedSnapshot {
  return { name, path: p, files: 0, dirs: 0, symlinks: 0, bytes: 0, linked: 0, copied: 0 };
}

async function lexists(p: string | Buffer): Promise<boolean> {
  return fsp.lstat(p).then(
    () => true,
    () => false,
  );
}

/** Rename, making a read-only folder being moved writable first (moving a folder rewrites its `..`). */
async function renameDir(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (e) {
    if (errnoCode(e) !== 'EACCES' && errnoCode(e) !== 'EPERM') throw e;
    const st = await fsp.lstat(from);
    if (!st.isDirectory()) throw e;
    await fsp.chmod(from, (st.mode & 0o7777) | 0o700);
    await fsp.rename(from, to);
    await fsp.chmod(to, st.mode & 0o7777);
  }
}

/**
 * Rebuild one dated folder in place (the caller holds the lock and ran recover()). The old
 * folder, if any, ends up in .snap/trash; the caller empties it after unlocking.
 */
export async function rebuildInPlace(root: Root, snap: SnapshotRow, placer: ObjectPlacer, tick?: (bytes: number) => void): Promise<MaterializedSnapshot> {
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
  if (await lexists(final)) {
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

/** The snapshots to rebuild in place: named ones, all, or those whose folder is missing or damaged. */
async function pickInPlace(root: Root, opts: MaterializeOptions): Promise<SnapshotRow[]> {
  const complete = root.catalog.listSnapshots().filter((s) => s.state === 'complete');
  if (opts.snapshots && opts.snapshots.length > 0) return opts.snapshots.map((n) => getSnapshotOrThrow(root.catalog, n));
  if (opts.all) return complete;
  // Default: what a quick structural verify of the folders finds damaged.
  const damaged = await damagedFolders(root);
  return complete.filter((s) => damaged.has(s.name));
}

export async function materialize(rootArg: string, opts: MaterializeOptions = {}): Promise<MaterializeResult> {
  const t0 = process.hrtime.bigint();
  if (opts.all && opts.snapshots && opts.snapshots.length > 0) throw new SnapError('USAGE', '--all and snapshot names exclude each other');
  if (opts.to !== undefined) return materializeTo(rootArg, opts, t0);
  if (opts.copy) throw new SnapError('USAGE', '--copy only applies with --to');
  let rootRef: Root | undefined;
  try {
    return await withLockedRoot(rootArg, 'materialize', { waitMs: opts.waitMs }, async (root) => {
      rootRef = root;
      await recover(root);
      const snaps = await pickInPlace(root, opts);
      const placer = new ObjectPlacer(root);
      const totalItems = snaps.reduce((s, x) => s + x.files, 0);
      const totalBytes = snaps.reduce((s, x) => s + x.bytes, 0);
      let doneItems = 0;
      let doneBytes = 0;
      const tick = (b: number) => {
        doneItems++;
        doneBytes += b;
        opts.onProgress?.({ doneItems, totalItems, doneBytes, totalBytes });
      };
      const out: MaterializedSnapshot[] = [];
      for (const s of snaps) {
        try {
          out.push(await rebuildInPlace(root, s, placer, tick));
        } catch (e) {
          if (e instanceof ObjectMissing) {
            throw new SnapError('IO', `cannot rebuild ${s.name}: ${e.message}`, { hint: 'run `snap verify --repair` to heal the store first', cause: e });
          }
          throw wrapFsError(e, `rebuilding ${s.name}`);
        }
      }
      return { root: root.layout.root, snapshots: out, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
    });
  } finally {
    if (rootRef) await emptyTrash(rootRef).catch(() => {});
  }
}

// ---- --to: build a snapshot somewhere else (restore) ---------------------------------------

/** The target must be new, or an empty real folder; never inside the store or the live data. */
async function checkTarget(root: Root, target: string): Promise<void> {
  const st = await fsp.lstat(target).catch((e: unknown) => {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  });
  if (st) {
    if (!st.isDirectory()) throw new SnapError('EXISTS', `${target} exists and is not a folder`, { hint: 'name a new folder, or an empty one' });
    if ((await fsp.readdir(target)).length > 0) throw new SnapError('EXISTS', `${target} is not empty`, { hint: 'name a new folder, or an empty one' });
  }
  const realParent = fs.realpathSync(path.dirname(target));
  const real = path.join(realParent, path.basename(target));
  const within = (dir: string) => {
    let d: string;
    try {
      d = fs.realpathSync(dir);
    } catch {
      return false;
    }
    return real === d || real.startsWith(d.endsWith('/') ? d : d + '/');
  };
  if (within(root.layout.store)) throw new SnapError('USAGE', `refusing to write into the store: ${target}`);
  if (within(path.join(root.layout.root, '.latest'))) throw new SnapError('USAGE', `refusing to write into .latest (linksnap never writes there): ${target}`);
}

/** Place a file by hard link to its object (trying the replicas), or by copy. */
function placerForTarget(root: Root, forceCopy: boolean): PlaceFile {
  let copyMode = forceCopy;
  const { layout, catalog, asRoot } = root;
  const copy = async (key: ObjectKey, dest: Buffer): Promise<'copied'> => {
    const src = objectPath(layout, key, 0);
    try {
      await fsp.copyFile(src, dest, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' && !(await lexists(src))) throw new ObjectMissing(key, src);
      throw e;
    }
    // The copy is independent: give it the metadata the snapshot records (owner only as root).
    if (asRoot) await fsp.chown(dest, key.uid, key.gid);
    await fsp.chmod(dest, key.mode);
    const t = usToUtimeArg(key.mtimeUs);
    await fsp.utimes(dest, t, t);
    return 'copied';
  };
  return async (key, _size, dest) => {
    if (copyMode) return copy(key, dest);
    const replicas = catalog.getObject(key)?.replicas ?? 1;
    for (let r = 0; r < replicas; r++) {
      const src = objectPath(layout, key, r);
      try {
        await fsp.link(src, dest);
        return 'linked';
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'EXDEV') {
          copyMode = true; // another file system: copies from now on
          return copy(key, dest);
        }
        if (code === 'ENOENT' && !(await lexists(src))) throw new ObjectMissing(key, src);
        if (code !== 'EMLINK') throw e;
      }
    }
    return copy(key, dest); // every replica is at the link limit: a copy is still correct
  };
}

async function materializeTo(rootArg: string, opts: MaterializeOptions, t0: bigint): Promise<MaterializeResult> {
  if (opts.all) throw new SnapError('USAGE', '--to builds one snapshot; --all does not apply');
  if (opts.snapshots && opts.snapshots.length > 1) throw new SnapError('USAGE', '--to builds one snapshot; name at most one');
  // Read-only and lock-free: a long restore must not hold up the nightly take. The read
  // transaction keeps the catalog view stable; the objects of a snapshot stay as long as it does.
  const root = openRoot(rootArg, { readonly: true });
  const target = path.resolve(opts.to!);
  let building: string | undefined;
  try {
    beginRead(root.catalog);
    const snap = opts.snapshots?.[0]
      ? getSnapshotOrThrow(root.catalog, opts.snapshots[0])
      : root.catalog.listSnapshots().filter((s) => s.state === 'complete').at(-1);
    if (!snap) throw new SnapError('NO_SNAPSHOT', 'the root has no snapshots yet');
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await checkTarget(root, target);
    building = path.join(path.dirname(target), `.${path.basename(target)}.snap-building-${randomBytes(4).toString('hex')}`);
    await fsp.mkdir(building, { mode: 0o700 });
    const counts = emptyCounts(snap.name, target);
    let doneItems = 0;
    let doneBytes = 0;
    const tick = (b: number) => {
      doneItems++;
      doneBytes += b;
      opts.onProgress?.({ doneItems, totalItems: snap.files, doneBytes, totalBytes: snap.bytes });
    };
    await buildSnapshot(root.catalog, snap, Buffer.from(building), placerForTarget(root, opts.copy ?? false), root.asRoot, counts, tick);
    await checkTarget(root, target); // still new or empty: rename replaces only an empty folder
    await renameDir(building, target);
    building = undefined;
    const t = nsToUtimeArg(snap.rootMtimeNs);
    await fsp.utimes(target, t, t);
    return { root: root.layout.root, to: target, snapshots: [counts], seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
  } catch (e) {
    if (building) await removeTree(building).catch(() => {});
    if (e instanceof ObjectMissing) {
      throw new SnapError('IO', `cannot restore: ${e.message}`, { hint: 'run `snap verify` to see what the store lost', cause: e });
    }
    throw wrapFsError(e, `materializing into ${target}`);
  } finally {
    endRead(root.catalog);
    root.close();
  }
}

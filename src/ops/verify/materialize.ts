/**
 * `snap materialize`: rebuild dated folders from the catalog, exactly as `take` made them (same
 * names and metadata, hard links to the same objects), or build a snapshot somewhere else
 * (`--to`, the whole-snapshot restore path). The building itself is shared/build-folder.ts.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openRoot, withLockedRoot, type Root } from '../shared/root.js';
import { recover, emptyTrash } from '../shared/recover.js';
import { removeTree } from '../../util/fs.js';
import { ObjectPlacer, ObjectMissing, recordedXattrs } from '../shared/object-placer.js';
import { getSnapshotOrThrow } from '../shared/snapshot-tree.js';
import { buildSnapshot, emptyCounts, rebuildInPlace, type MaterializedSnapshot, type PlaceFile } from '../shared/build-folder.js';
import { refuseNothing, renameDir, setFileXattrs } from '../shared/place.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import { beginRead, endRead } from '../../catalog/verify-queries.js';
import { objectPath } from '../../store/layout.js';
import { type ObjectKey } from '../../model/object-key.js';
import { nsToUtimeArg, usToUtimeArg } from '../../store/times.js';
import { SnapError, errnoCode, wrapFsError } from '../../errors.js';
import { damagedFolders } from './checks.js';
import { lexists } from '../../util/fs.js';

export type { MaterializedSnapshot } from '../shared/build-folder.js';

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

export interface MaterializeResult {
  root: string;
  /** The target folder with --to; undefined for in-place rebuilds. */
  to?: string;
  snapshots: MaterializedSnapshot[];
  seconds: number;
}

/** How a file lands in the folder being built. */
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
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false;
      throw e;
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
      if (errnoCode(e) === 'ENOENT' && !lexists(src)) throw new ObjectMissing(key, src);
      throw e;
    }
    // The copy is independent: give it the metadata the snapshot records (owner only as root).
    if (asRoot) await fsp.chown(dest, key.uid, key.gid);
    await fsp.chmod(dest, key.mode);
    refuseNothing(setFileXattrs(dest, recordedXattrs(catalog, key.xattrs), asRoot), dest);
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
        if (code === 'ENOENT' && !lexists(src)) throw new ObjectMissing(key, src);
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

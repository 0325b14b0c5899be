/**
 * .snap/lost+found: where a repair or an in-place rebuild puts whatever it finds in a dated
 * folder that is not the snapshot's, instead of deleting it with the old folder: a file someone
 * saved into a dated folder, a file replaced at a snapshot path (`cp new.txt <snapshot>/doc.txt`),
 * a symlink pointing elsewhere, a folder where the snapshot has a file. Nothing in linksnap
 * deletes it: gc sweeps only .snap/objects, recovery only tmp, staging and trash. `snap verify`
 * counts what waits there (an info finding).
 *
 * Layout: .snap/lost+found/<snapshot>/<run>/<path in the snapshot>, where <run> is the local time
 * the repair or materialize started, in the snapshot-name format, with `-2`, `-3`… when that
 * folder exists already. Nothing there is ever replaced: a path that is taken in the current run
 * folder (the same path saved twice in one run) goes into the next free one. A thing standing
 * where the dated folder itself should be is saved as <run>/<snapshot>.
 *
 * Moves are rename(2) within one file system (.snap and the dated folders share one): the item
 * keeps its inode, metadata and contents; a symlink is moved as a symlink, never followed.
 */
import type fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import { renameDir } from './place.js';
import { TreeGuard, snapshotPath } from './snapshot-tree.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import { Kind, type Entry } from '../../model/entry.js';
import { objectKeyOf, type ObjectKey } from '../../model/object-key.js';
import { STORE_DIR, objectPath, snapshotNameFor, type StoreLayout } from '../../store/layout.js';
import { NotARegularFile, hashStoredFile } from '../../store/blobfile.js';
import { assertSafeName, joinPath, showName } from '../../util/paths.js';
import { faultPoint } from '../../util/fault.js';
import { errnoCode, isFsError } from '../../errors.js';
import { lstatOrUndefined } from '../../util/fs.js';

/** One thing moved into lost+found. Both paths are printable and relative to the root. */
export interface SavedPath {
  /** Where it was: `<snapshot>/<path>` (the snapshot's name alone for the dated folder's place). */
  path: string;
  /** Where it is now: `.snap/lost+found/<snapshot>/<run>/<path>`. */
  to: string;
}

/** Where lost+found is, relative to the root. */
const LOST_FOUND = `${STORE_DIR}/lost+found`;

export function lostFoundDir(layout: StoreLayout): string {
  return path.join(layout.root, LOST_FOUND);
}

function inodeKey(st: fs.BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

/** Everything one repair or materialize run moves into lost+found. */
export class LostFound {
  readonly saved: SavedPath[] = [];
  private readonly stamp: string;
  /** snapshot → the run folder this run uses for it (made on first use) and its name. */
  private readonly runs = new Map<string, { abs: Buffer; name: string }>();
  private readonly inodes = new Set<string>();

  constructor(
    private readonly layout: StoreLayout,
    startedAt: Date = new Date(),
  ) {
    this.stamp = snapshotNameFor(startedAt);
  }

  /** Whether this inode was moved in by this run already: another path to it loses nothing. */
  holds(st: fs.BigIntStats): boolean {
    return this.inodes.has(inodeKey(st));
  }

  /**
   * Move `abs`, the path `rel` of `snapshot` (empty: the dated folder's own place), into
   * lost+found. Its parent folder must be writable by us (see openForMoves).
   */
  async save(snapshot: string, rel: Buffer, abs: Buffer, st: fs.BigIntStats): Promise<SavedPath> {
    const name = rel.length > 0 ? rel : Buffer.from(snapshot);
    for (let fresh = false; ; fresh = true) {
      const run = await this.runFolder(snapshot, fresh);
      const dest = joinPath(run.abs, name);
      if (!(await this.free(run.abs, name, dest))) continue;
      if (st.isDirectory()) await renameDir(abs, dest);
      else await fsp.rename(abs, dest);
      this.inodes.add(inodeKey(st));
      const saved = { path: snapshotPath(snapshot, rel), to: `${LOST_FOUND}/${snapshot}/${run.name}/${showName(name)}` };
      this.saved.push(saved);
      return saved;
    }
  }

  /** The run folder for `snapshot`; `fresh`: the one in use is full, make the next one. */
  private async runFolder(snapshot: string, fresh: boolean): Promise<{ abs: Buffer; name: string }> {
    const known = this.runs.get(snapshot);
    if (known && !fresh) return known;
    const base = path.join(lostFoundDir(this.layout), snapshot);
    await fsp.mkdir(base, { recursive: true, mode: 0o700 });
    for (let n = 1; ; n++) {
      const name = n === 1 ? this.stamp : `${this.stamp}-${n}`;
      try {
        await fsp.mkdir(path.join(base, name), { mode: 0o700 });
      } catch (e) {
        if (errnoCode(e) === 'EEXIST') continue;
        throw e;
      }
      const run = { abs: Buffer.from(path.join(base, name)), name };
      this.runs.set(snapshot, run);
      return run;
    }
  }

  /** Whether `dest` (`name` inside `run`) is free, with its parent folders made. */
  private async free(run: Buffer, name: Buffer, dest: Buffer): Promise<boolean> {
    let at = run;
    const parts = name.toString('latin1').split('/').slice(0, -1);
    for (const part of parts) {
      at = joinPath(at, Buffer.from(part, 'latin1'));
      const st = lstatOrUndefined(at);
      if (st?.isDirectory()) continue;
      if (st) return false; // a file saved earlier in this run stands where a folder is needed
      await fsp.mkdir(at, { mode: 0o700 });
    }
    return lstatOrUndefined(dest) === undefined;
  }
}

/** Whether `st` is the inode of object `key` (any of its link-limit replicas). */
export function isObjectInode(root: Root, key: ObjectKey, st: fs.BigIntStats): boolean {
  const replicas = root.catalog.getObject(key)?.replicas ?? 1;
  for (let r = 0; r < replicas; r++) {
    const o = lstatOrUndefined(objectPath(root.layout, key, r));
    if (o?.isFile() && o.ino === st.ino && o.dev === st.dev) return true;
  }
  return false;
}

/**
 * Whether the file at `abs` (lstat'ed as `st`) holds exactly the content of object `key`: then
 * it is a stray copy or link of what the snapshot has, and nothing is lost when it goes.
 * Unreadable, or changed since the lstat: not known to be a copy, so it is kept.
 */
export async function holdsObjectContent(abs: Buffer, st: fs.BigIntStats, key: ObjectKey, size: number): Promise<boolean> {
  if (Number(st.size) !== size) return false;
  try {
    const h = await hashStoredFile(abs);
    return h.stat.ino === st.ino && h.stat.dev === st.dev && h.size === size && h.hash.equals(key.hash);
  } catch (e) {
    if (isFsError(e) || e instanceof NotARegularFile) return false;
    throw e;
  }
}

/**
 * Make the folder `abs` writable for moving entries out of it (a snapshot folder may be 0555).
 * Returns its mode to put back, or undefined when nothing was changed.
 */
export async function openForMoves(abs: Buffer, st: fs.BigIntStats, asRoot: boolean): Promise<number | undefined> {
  const mode = Number(st.mode & 0o7777n);
  if (asRoot || (mode & 0o300) === 0o300) return undefined;
  await fsp.chmod(abs, mode | 0o700);
  return mode;
}

/** One old dated folder being sorted: what is the snapshot's stays, the rest moves to lost+found. */
interface Sorting {
  root: Root;
  snap: SnapshotRow;
  lf: LostFound;
  /** The complete new folder of the snapshot: a file sharing its twin's inode is the snapshot's. */
  built: Buffer;
}

/** Whether the thing at `rel` (lstat'ed as `st`) is what entry `e` of the manifest says. */
async function isTheSnapshots(s: Sorting, e: Entry, rel: Buffer, abs: Buffer, st: fs.BigIntStats): Promise<boolean> {
  switch (e.kind) {
    case Kind.Dir:
      return st.isDirectory();
    case Kind.Symlink: {
      if (!st.isSymbolicLink() || !e.target) return false;
      const target = await fsp.readlink(abs, { encoding: 'buffer' });
      return target.equals(e.target);
    }
    case Kind.File: {
      if (!st.isFile() || !e.hash) return false;
      // Cheapest first: the new folder's link (one lstat, no catalog), the object's inode (any
      // replica), an inode this run saved already, and only then a content comparison.
      const twin = lstatOrUndefined(joinPath(s.built, rel));
      if (twin && twin.ino === st.ino && twin.dev === st.dev) return true;
      const key = objectKeyOf(e.hash, e);
      return isObjectInode(s.root, key, st) || s.lf.holds(st) || (await holdsObjectContent(abs, st, key, e.size));
    }
    default:
      return false;
  }
}

/**
 * Before an in-place rebuild swaps the dated folder `top` of `snap` out (into the trash), move
 * whatever in it is not the snapshot's into lost+found: paths the manifest does not have,
 * entries of another kind, symlinks pointing elsewhere, and files that are neither the object's
 * inode nor a copy of its content. `built` is the complete new folder. Walks the old folder and
 * the manifest side by side with lstat: a symlink is never followed (it is kept or moved as a
 * symlink), and a folder is entered only when the manifest has a folder there.
 */
export async function saveForeign(root: Root, snap: SnapshotRow, top: Buffer, built: Buffer, lf: LostFound): Promise<void> {
  const st = lstatOrUndefined(top);
  if (!st) return;
  if (!st.isDirectory()) {
    await lf.save(snap.name, Buffer.alloc(0), top, st);
    faultPoint('materialize:saved');
    return;
  }
  await sortFolder({ root, snap, lf, built }, TreeGuard.top(snap.name, snap.rootTree), Buffer.alloc(0), top, st);
}

async function sortFolder(s: Sorting, guard: TreeGuard, rel: Buffer, abs: Buffer, dirSt: fs.BigIntStats): Promise<void> {
  const manifest = new Map<string, Entry>();
  for (const e of s.root.catalog.treeEntries(guard.tree)) {
    assertSafeName(e.name, `tree ${guard.tree}`);
    manifest.set(e.name.toString('latin1'), e);
  }
  let names: Buffer[];
  try {
    names = await fsp.readdir(abs, { encoding: 'buffer' });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return; // gone since the lstat: nothing to save
    throw e;
  }
  let opened: number | undefined;
  try {
    for (const name of names.sort(Buffer.compare)) {
      const childAbs = joinPath(abs, name);
      const childRel = joinPath(rel, name);
      const st = lstatOrUndefined(childAbs);
      if (!st) continue;
      const e = manifest.get(name.toString('latin1'));
      if (e && (await isTheSnapshots(s, e, childRel, childAbs, st))) {
        if (e.kind === Kind.Dir) await sortFolder(s, guard.enter(e.subtree, childRel), childRel, childAbs, st);
        continue;
      }
      opened ??= await openForMoves(abs, dirSt, s.root.asRoot);
      await s.lf.save(s.snap.name, childRel, childAbs, st);
      faultPoint('materialize:saved');
    }
  } finally {
    if (opened !== undefined) await fsp.chmod(abs, opened);
  }
}

/**
 * Creating folders and symlinks in a folder being built, with the metadata `rsync -a` would
 * give, and moving folders into (or out of) place. Shared by take, materialize and repair.
 * Files are placed by ObjectPlacer.link (hard links).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { nsToUtimeArg } from '../../store/times.js';
import type { EntryMeta } from '../../model/entry.js';
import type { Xattr } from '../../model/xattrs.js';
import { openFolderPath, writeXattrs } from '../../store/xattrs.js';
import { faultPoint } from '../../util/fault.js';
import { ErrnoError, errnoCode } from '../../errors.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** An extended attribute a target file system or folder refused (restore warns about each). */
export interface RefusedXattr {
  name: string;
  code: string;
}

/**
 * Give a folder exactly these recorded attributes, through a descriptor opened without
 * following symlinks (the path may not be valid UTF-8, which the binding cannot take). Set after
 * chown and chmod: an access ACL then sets the group bits from its mask, as the source had them.
 */
function setFolderXattrs(p: Buffer | string, xattrs: readonly Xattr[], asRoot: boolean): RefusedXattr[] {
  const fd = fs.openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    return writeXattrs(openFolderPath(fd), xattrs, asRoot);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Give a file linksnap just created (a copy, not an object) these attributes, by its path: the
 * binding takes strings, so a path that is not valid UTF-8 refuses them all (EILSEQ).
 */
export function setFileXattrs(p: Buffer, xattrs: readonly Xattr[], asRoot: boolean): RefusedXattr[] {
  if (xattrs.length === 0) return [];
  const s = p.toString('utf8');
  if (!Buffer.from(s).equals(p)) return xattrs.map((a) => ({ name: a.name, code: 'EILSEQ' }));
  return writeXattrs(s, xattrs, asRoot);
}

/** Where every recorded attribute must stick (in the store, or a materialized copy): one refused fails. */
export function refuseNothing(refused: readonly RefusedXattr[], p: Buffer | string): void {
  if (refused.length === 0) return;
  const r = refused[0]!;
  throw new ErrnoError(r.code, `${r.code}: ${p.toString()}: the file system refuses the extended attribute ${r.name}`, p.toString());
}

/**
 * Apply a folder's own metadata once its contents are complete: its mode last but one (a
 * read-only source folder must stay writable until filled), its extended attributes (when it
 * has recorded ones) after the mode, and its mtime last (every entry created inside would bump
 * it). Returns the attributes the file system refused.
 */
export async function finishDir(p: Buffer | string, meta: EntryMeta, asRoot: boolean, xattrs: readonly Xattr[] = []): Promise<RefusedXattr[]> {
  if (asRoot) await fsp.lchown(p, meta.uid, meta.gid);
  await fsp.chmod(p, meta.mode);
  const refused = xattrs.length > 0 ? setFolderXattrs(p, xattrs, asRoot) : [];
  const t = nsToUtimeArg(meta.mtimeNs);
  await fsp.utimes(p, t, t);
  faultPoint('dir:finished');
  return refused;
}

/** A symlink is kept as a symlink (never followed), with its own mtime and owner. */
export async function placeSymlink(target: Buffer, p: Buffer, meta: EntryMeta, asRoot: boolean): Promise<void> {
  await fsp.symlink(target, p);
  if (asRoot) await fsp.lchown(p, meta.uid, meta.gid);
  const t = nsToUtimeArg(meta.mtimeNs);
  await fsp.lutimes(p, t, t);
}

/** Rename, making a read-only folder being moved writable first (moving a folder rewrites its `..`). */
export async function renameDir(from: string | Buffer, to: string | Buffer): Promise<void> {
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

/** A new folder inside one we are building: private until finishDir gives it its mode. */
export async function makeDir(p: Buffer): Promise<void> {
  await fsp.mkdir(p, { mode: 0o700 });
}

// Synchronous twins for take's hot path: one plain syscall each, no promise or thread-pool hop.
// A no-change take is nothing but lstat + link + mkdir per entry, and per-call async overhead
// was most of its time (docs/benchmarks.md). They only handle what take just created inside a
// private staging folder (mode 0700, never set-gid while it is filled), which is therefore owned
// by our effective uid and gid: the chown is skipped when that is already the wanted owner.

const ourUid = process.geteuid?.() ?? -1;
const ourGid = process.getegid?.() ?? -1;

function needsChown(asRoot: boolean, meta: EntryMeta): boolean {
  return asRoot && (meta.uid !== ourUid || meta.gid !== ourGid);
}

export function finishDirSync(p: Buffer, meta: EntryMeta, asRoot: boolean, xattrs: readonly Xattr[] = []): void {
  if (needsChown(asRoot, meta)) fs.lchownSync(p, meta.uid, meta.gid);
  fs.chmodSync(p, meta.mode);
  if (xattrs.length > 0) refuseNothing(setFolderXattrs(p, xattrs, asRoot), p);
  const t = nsToUtimeArg(meta.mtimeNs);
  fs.utimesSync(p, t, t);
  faultPoint('dir:finished');
}

export function placeSymlinkSync(target: Buffer, p: Buffer, meta: EntryMeta, asRoot: boolean): void {
  fs.symlinkSync(target, p);
  if (needsChown(asRoot, meta)) fs.lchownSync(p, meta.uid, meta.gid);
  const t = nsToUtimeArg(meta.mtimeNs);
  fs.lutimesSync(p, t, t);
}

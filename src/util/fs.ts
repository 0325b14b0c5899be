/**
 * The file-system idioms every layer uses, each written once: look at a path without following
 * a symlink and without treating "nothing there" as an error, and list a folder that may not
 * exist. Only ENOENT and ENOTDIR mean "nothing there"; every other error (EACCES, EIO, ELOOP…)
 * is thrown, so a real problem is never mistaken for an absent file.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ErrnoError, errnoCode, isFsError } from '../errors.js';
import { AT_FDCWD, listNamesAt, nativeFsAt, openFolderAt, unlinkAt } from './fsat.js';
import { unpackNames } from './name-list.js';

function isAbsent(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** lstat (never follows a symlink), or undefined when nothing is at `p`. */
export function lstatOrUndefined(p: fs.PathLike): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(p, { bigint: true });
  } catch (e) {
    if (isAbsent(e)) return undefined;
    throw e;
  }
}

/** Something (a dangling symlink too) is at `p`. */
export function lexists(p: fs.PathLike): boolean {
  return lstatOrUndefined(p) !== undefined;
}

/** A folder's names, or none when it does not exist. */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    if (isAbsent(e)) return [];
    throw e;
  }
}

/**
 * File systems whose timestamps are stamped by another machine's clock (statfs f_type magic
 * numbers, linux/magic.h): NFS, SMB/CIFS, AFS, Coda, 9P, Ceph, FUSE (sshfs, rclone, ...), Lustre,
 * GPFS, GlusterFS and the cluster file systems.
 */
const NETWORK_FS_TYPES = new Set([
  0x6969, // NFS
  0x517b, // SMB
  0xff534d42, // CIFS
  0xfe534d42, // SMB2
  0x5346414f, // AFS
  0x73757245, // Coda
  0x01021997, // 9P
  0x00c36400, // Ceph
  0x65735546, // FUSE
  0x0bd00bd0, // Lustre
  0x47504653, // GPFS
  0x01161970, // GFS2
  0x7461636f, // OCFS2
  0x564c, // NCP
]);

/** The file system holding `p` is a network (or FUSE) one; false when it cannot be told. */
export function isNetworkFileSystem(p: fs.PathLike): boolean {
  try {
    return NETWORK_FS_TYPES.has(Number(fs.statfsSync(p).type) >>> 0);
  } catch (e) {
    if (isFsError(e)) return false;
    throw e;
  }
}

/**
 * Delete a folder tree, first making its folders writable (snapshots keep read-only modes).
 * With the native helper, each folder is listed and emptied relative to its descriptor (one
 * `unlinkat` per entry: a rotated-out snapshot of 50,000 files goes in a fraction of the time
 * `fs.rm` takes); a read-only folder sends it to `fs.rm` after making the tree writable.
 */
export async function removeTree(p: string): Promise<void> {
  if (nativeFsAt) {
    try {
      removeTreeAt(AT_FDCWD, p);
      return;
    } catch (e) {
      if (errnoCode(e) !== 'EACCES' && errnoCode(e) !== 'EPERM') throw e;
    }
  }
  try {
    await fsp.rm(p, { recursive: true, force: true });
  } catch (e) {
    if (errnoCode(e) !== 'EACCES' && errnoCode(e) !== 'EPERM') throw e;
    await makeWritable(p);
    await fsp.rm(p, { recursive: true, force: true });
  }
}

/** Remove `name` in `dirFd` and everything below it; never follows a symlink; nothing there is fine. */
function removeTreeAt(dirFd: number, name: string | Buffer): void {
  const fail = (code: string) => new ErrnoError(code, `${code}: cannot remove ${name.toString()}`);
  const e = unlinkAt(dirFd, name, false);
  if (e === undefined || e === 'ENOENT') return;
  if (e !== 'EISDIR') throw fail(e);
  const fd = openFolderAt(dirFd, name);
  if (typeof fd === 'string') {
    if (fd === 'ENOENT') return;
    throw fail(fd);
  }
  try {
    const names = listNamesAt(fd);
    if (typeof names === 'string') throw fail(names);
    for (const child of unpackNames(names)) removeTreeAt(fd, child);
  } finally {
    fs.closeSync(fd);
  }
  const r = unlinkAt(dirFd, name, true);
  if (r !== undefined && r !== 'ENOENT') throw fail(r);
}

async function makeWritable(p: string): Promise<void> {
  const st = await fsp.lstat(p);
  if (!st.isDirectory()) return;
  await fsp.chmod(p, 0o700);
  for (const name of await fsp.readdir(p)) await makeWritable(path.join(p, name));
}

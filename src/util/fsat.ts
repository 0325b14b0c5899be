/**
 * The `*at()` system calls Node lacks — lstat, link and open of a folder's entry relative to the
 * open folder, and the listing of an open folder as one sorted, packed buffer — for the
 * per-entry hot paths: a take's scan (a listing per folder, one lstat and one link per unchanged
 * file, and the lstat that checks the linked object) and verify's folder walk.
 *
 * Node names a file only by a path: an entry of an open folder is reached through
 * `/proc/self/fd/<fd>/<name>`, every call builds a Stats object of a dozen BigInts, and a
 * missing entry throws. The small native addon in `native/` (built from source by `npm ci`,
 * docs/decisions.md) makes each of these one system call resolving one name, returning errors
 * as values. Without it (not built, another platform, or `LINKSNAP_NATIVE=0`), the same
 * functions fall back to `fs` calls through `/proc/self/fd`, with the same results; the tests
 * run both (test/unit/fsat.test.ts, and the take and verify suites under LINKSNAP_NATIVE=0).
 */
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import { ErrnoError, errnoCode, isFsError } from '../errors.js';
import { listFolderNames } from './name-list.js';

/** `dirFd` meaning "no folder": the name is a path (absolute, or relative to the working folder). */
export const AT_FDCWD = -100;

/** The lstat fields linksnap reads; fs.BigIntStats has them too. */
export type Lstat = Pick<
  fs.BigIntStats,
  'dev' | 'ino' | 'mode' | 'uid' | 'gid' | 'size' | 'mtimeNs' | 'ctimeNs' | 'nlink' | 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isCharacterDevice'
>;

/** The plain fields of an Lstat, as a worker posts them to the main thread. */
export type LstatFields = Pick<Lstat, 'dev' | 'ino' | 'mode' | 'uid' | 'gid' | 'size' | 'mtimeNs' | 'ctimeNs' | 'nlink'>;

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR } = fs.constants;

/** Lstat fields with the type tests of fs.BigIntStats (from the addon, or a worker's message). */
export class FieldStat implements Lstat {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly nlink: bigint;
  constructor(f: LstatFields) {
    this.dev = f.dev;
    this.ino = f.ino;
    this.mode = f.mode;
    this.uid = f.uid;
    this.gid = f.gid;
    this.size = f.size;
    this.mtimeNs = f.mtimeNs;
    this.ctimeNs = f.ctimeNs;
    this.nlink = f.nlink;
  }
  private type(): number {
    return Number(this.mode) & S_IFMT;
  }
  isFile(): boolean {
    return this.type() === S_IFREG;
  }
  isDirectory(): boolean {
    return this.type() === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return this.type() === S_IFLNK;
  }
  isFIFO(): boolean {
    return this.type() === S_IFIFO;
  }
  isSocket(): boolean {
    return this.type() === S_IFSOCK;
  }
  isCharacterDevice(): boolean {
    return this.type() === S_IFCHR;
  }
}

/** Just the fields (for a worker's message: class instances do not cross threads). */
export function lstatFields(st: LstatFields): LstatFields {
  return { dev: st.dev, ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, nlink: st.nlink };
}

interface Addon {
  lstatAt(dirFd: number, name: Buffer | string, out: BigInt64Array): number;
  linkAt(oldDirFd: number, oldName: Buffer | string, newDirFd: number, newName: Buffer | string): number;
  openDirAt(dirFd: number, name: Buffer | string): number;
  listNames(dirFd: number): Buffer | number;
  unlinkAt(dirFd: number, name: Buffer | string, folder: boolean): number;
}

function loadAddon(): Addon | undefined {
  if (process.env.LINKSNAP_NATIVE === '0') return undefined;
  try {
    return createRequire(import.meta.url)('../../native/build/Release/linksnap_fsat.node') as Addon;
  } catch {
    return undefined; // not built here: the fs fallback below does the same, slower
  }
}

const addon = loadAddon();

/** Whether the native addon is in use (removeTree picks its way by it; the tests check it). */
export const nativeFsAt = addon !== undefined;

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `E${n}`;
}

const SLASH = Buffer.from('/');

/** The path of an open folder (or of its entry `name`), resolved through its descriptor, never by name from the top. */
export function fdPath(fd: number, name?: Buffer | string): Buffer {
  const dir = Buffer.from(`/proc/self/fd/${fd}`);
  if (name === undefined) return dir;
  return Buffer.concat([dir, SLASH, typeof name === 'string' ? Buffer.from(name) : name]);
}

function pathAt(dirFd: number, name: Buffer | string): Buffer | string {
  return dirFd === AT_FDCWD ? name : fdPath(dirFd, name);
}

/** fs errors become their code; anything else (a bug) is thrown. */
function codeOf(e: unknown): string {
  if (!isFsError(e)) throw e;
  return errnoCode(e) ?? 'EIO';
}

const out = new BigInt64Array(9);

/** lstat of `name` in the open folder `dirFd` (or of the path `name`, with AT_FDCWD): its fields, or the error code. */
export function lstatAt(dirFd: number, name: Buffer | string): Lstat | string {
  if (!addon) {
    try {
      return fs.lstatSync(pathAt(dirFd, name), { bigint: true });
    } catch (e) {
      return codeOf(e);
    }
  }
  const e = addon.lstatAt(dirFd, name, out);
  if (e !== 0) return errnoName(e);
  return new FieldStat({ mode: out[0]!, uid: out[1]!, gid: out[2]!, dev: out[3]!, ino: out[4]!, size: out[5]!, mtimeNs: out[6]!, ctimeNs: out[7]!, nlink: out[8]! });
}

/** lstat, or undefined when nothing is there (ENOENT, ENOTDIR); other errors are thrown, as util/fs.ts's lstatOrUndefined does. */
export function lstatAtOrUndefined(dirFd: number, name: Buffer | string): Lstat | undefined {
  const st = lstatAt(dirFd, name);
  if (typeof st !== 'string') return st;
  if (st === 'ENOENT' || st === 'ENOTDIR') return undefined;
  throw new ErrnoError(st, `${st}: lstat ${String(name)}`, String(name));
}

/** link(2) of `oldName` in `oldDirFd` as `newName` in `newDirFd` (never replacing a name): undefined, or the error code. */
export function linkAt(oldDirFd: number, oldName: Buffer | string, newDirFd: number, newName: Buffer | string): string | undefined {
  if (!addon) {
    try {
      fs.linkSync(pathAt(oldDirFd, oldName), pathAt(newDirFd, newName));
      return undefined;
    } catch (e) {
      return codeOf(e);
    }
  }
  const e = addon.linkAt(oldDirFd, oldName, newDirFd, newName);
  return e === 0 ? undefined : errnoName(e);
}

/** Open the folder `name` in `dirFd` (a path with AT_FDCWD) without following a symlink there: its descriptor, or the error code. */
export function openFolderAt(dirFd: number, name: Buffer | string): number | string {
  if (!addon) {
    try {
      return fs.openSync(pathAt(dirFd, name), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
    } catch (e) {
      return codeOf(e);
    }
  }
  const fd = addon.openDirAt(dirFd, name);
  return fd >= 0 ? fd : errnoName(-fd);
}

/**
 * Every name in the open folder `dirFd` (but `.` and `..`), packed as util/name-list.ts packs
 * them and in byte order; or the error code. One buffer, whatever the folder's size.
 */
export function listNamesAt(dirFd: number): Buffer | string {
  if (!addon) {
    try {
      const listed = listFolderNames(fdPath(dirFd), 0, true);
      return 'packed' in listed ? listed.packed : Buffer.alloc(0);
    } catch (e) {
      return codeOf(e);
    }
  }
  const r = addon.listNames(dirFd);
  return typeof r === 'number' ? errnoName(r) : r;
}

/** unlink(2) of `name` in `dirFd` (rmdir with `folder`), never following a symlink: undefined, or the error code. */
export function unlinkAt(dirFd: number, name: Buffer | string, folder: boolean): string | undefined {
  if (!addon) {
    try {
      if (folder) fs.rmdirSync(pathAt(dirFd, name));
      else fs.unlinkSync(pathAt(dirFd, name));
      return undefined;
    } catch (e) {
      return codeOf(e);
    }
  }
  const e = addon.unlinkAt(dirFd, name, folder);
  return e === 0 ? undefined : errnoName(e);
}

/**
 * `restore --delete`: remove what the snapshot does not have below the target, and nothing else.
 *
 * - Never outside the target: every folder is opened with O_NOFOLLOW | O_DIRECTORY and must be
 *   the inode its lstat saw; what is inside is listed, lstat'ed, unlinked and rmdir'ed through
 *   `/proc/self/fd/<fd>/<name>` (the *at() calls Node lacks, as the take's walk does). A symlink
 *   is removed as a symlink, never followed; a folder swapped for a symlink meanwhile is not
 *   entered (the symlink itself is removed).
 * - Never a target that holds what linksnap protects (checkDeleteTarget): the backup root or an
 *   ancestor of it, `.latest`'s folder or an ancestor of it, or anything inside the backup root
 *   other than a folder inside `.latest`'s (that is: not the store, not a dated folder).
 */
import fs from 'node:fs';
import path from 'node:path';
import { LATEST } from '../../store/layout.js';
import { SnapError, errnoCode } from '../../errors.js';
import { joinPath, showName } from '../../util/paths.js';
import { lstatOrUndefined } from '../../util/fs.js';
import { fdPath } from '../../util/fsat.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

/** a is b, or a folder above b (both absolute, resolved). */
function holds(a: string, b: string): boolean {
  return a === b || b.startsWith(a.endsWith('/') ? a : a + '/');
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return p;
    throw e;
  }
}

/**
 * Refuse a --delete target whose emptying could touch the backups or the live data. The target
 * is resolved like the restore resolves it: its folder's real path, plus its own name (a
 * symlink at the target is replaced, never followed).
 */
export function checkDeleteTarget(backupRoot: string, target: Buffer): void {
  const t = Buffer.from(target).toString('latin1');
  const real = path.join(realOrSelf(path.dirname(t)), path.basename(t));
  const root = realOrSelf(backupRoot);
  const latest = realOrSelf(path.join(backupRoot, LATEST));
  const refuse = (why: string) =>
    new SnapError('USAGE', `restore --delete refuses ${showName(target)}: ${why}`, {
      hint: 'restore into another folder, or merge without deleting (--force instead of --delete)',
    });
  if (holds(real, root)) throw refuse(`it holds the backup root ${root}`);
  if (holds(real, latest)) throw refuse(`it holds ${latest}, the live data .latest points to`);
  if (holds(root, real) && !(real !== latest && holds(latest, real))) throw refuse(`it is inside the backup root (the store and the snapshots are linksnap's)`);
}

export interface Removal {
  /** Printable paths removed (or, in a dry run, that would be), contents before their folder. */
  paths: string[];
}

/** Open a folder we saw as `st` without following a symlink; undefined if it is no longer that folder. */
function openSeenFolder(p: Buffer, st: fs.BigIntStats): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') return undefined;
    throw e;
  }
  const now = fs.fstatSync(fd, { bigint: true });
  if (now.ino !== st.ino || now.dev !== st.dev) {
    fs.closeSync(fd);
    return undefined;
  }
  return fd;
}

/**
 * Remove `name` inside the open folder `parentFd` (shown as `shown`): a file or symlink is
 * unlinked, a folder emptied the same way and removed. With `dryRun`, only listed.
 */
export function removeEntry(parentFd: number, name: Buffer, shown: Buffer, dryRun: boolean, out: Removal): void {
  const p = fdPath(parentFd, name);
  const st = lstatOrUndefined(p);
  if (!st) return; // gone already
  if (st.isDirectory()) {
    const fd = openSeenFolder(p, st);
    if (fd !== undefined) {
      try {
        if (!dryRun && (st.mode & 0o700n) !== 0o700n) fs.fchmodSync(fd, Number(st.mode & 0o7777n) | 0o700); // we must be able to empty it
        for (const child of fs.readdirSync(fdPath(fd), { encoding: 'buffer' })) removeEntry(fd, child, joinPath(shown, child), dryRun, out);
      } finally {
        fs.closeSync(fd);
      }
      out.paths.push(showName(shown) + '/');
      if (!dryRun) fs.rmdirSync(p);
      return;
    }
    // Swapped for something else since the lstat: remove that as what it is now.
    const again = lstatOrUndefined(p);
    if (!again) return;
    if (again.isDirectory()) throw new SnapError('IO', `${showName(shown)} changed while being removed; run the restore again`);
  }
  out.paths.push(showName(shown));
  if (!dryRun) fs.unlinkSync(p);
}

/**
 * In the folder `dir` (a real folder: lstat'ed and opened without following), remove every
 * entry `keep` says the snapshot does not have there.
 */
export function removeExtras(dir: Buffer, keep: (name: Buffer, st: fs.BigIntStats) => boolean, dryRun: boolean, out: Removal): void {
  const st = lstatOrUndefined(dir);
  if (!st?.isDirectory()) return;
  const fd = openSeenFolder(dir, st);
  if (fd === undefined) return;
  try {
    for (const name of fs.readdirSync(fdPath(fd), { encoding: 'buffer' })) {
      const cst = lstatOrUndefined(fdPath(fd, name));
      if (cst && !keep(name, cst)) removeEntry(fd, name, joinPath(dir, name), dryRun, out);
    }
  } finally {
    fs.closeSync(fd);
  }
}

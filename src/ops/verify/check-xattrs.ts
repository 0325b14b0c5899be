/**
 * Verify's checks of extended attributes (recorded by `take --xattrs`): an object's inode must
 * carry the set its name's digest says, and a dated folder the set its entry (or, for the top
 * folder, its snapshot row) records. Findings: `object-xattrs` (repaired by setting the set on
 * the object again) and `entry-xattrs` (repaired by rebuilding the dated folder).
 *
 * Checked only on roots that recorded attributes at all (the catalog has a set): elsewhere no
 * object or folder may have any, and reading them would cost a system call per object for
 * nothing. On such roots an object named without a digest must carry none: an attribute added
 * through a dated folder is damage like a chmod.
 */
import fs from 'node:fs';
import type { Root } from '../shared/root.js';
import { xattrsOfKey, type ObjectKey } from '../../model/object-key.js';
import { NO_XATTRS, decodeXattrs, encodeXattrs, xattrChanges, xattrDigestOf, type Xattr } from '../../model/xattrs.js';
import { openFolderPath, readXattrs } from '../../store/xattrs.js';
import { errnoCode } from '../../errors.js';
import type { Lstat } from '../../util/fsat.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

const checked = new WeakMap<Root, boolean>();

/** Whether this root's objects and folders get their attributes checked (it recorded some). */
export function xattrsChecked(root: Root): boolean {
  let v = checked.get(root);
  if (v === undefined) checked.set(root, (v = root.catalog.hasXattrSets()));
  return v;
}

/** What differs between the attributes found and the set with digest `want`, in one line. */
function describe(root: Root, found: Xattr[], want: Buffer): string {
  const data = root.catalog.xattrSet(want);
  const expected = data && decodeXattrs(data);
  if (!expected) return `extended attributes differ from the recorded set ${want.toString('hex', 0, 8)}…, which the catalog lacks`;
  return `extended attributes differ: ${xattrChanges(expected, found).join(', ')}`;
}

/**
 * The object file `p` (lstat'ed as `st`, a regular file) against its key's digest: a message
 * when its attributes differ, else undefined. Read by the object's name, then the name is
 * checked to still be the inode looked at (else it changed meanwhile: reported by the caller's
 * other checks).
 */
export function objectXattrsProblem(root: Root, p: string, st: Lstat, key: ObjectKey): string | undefined {
  if (!xattrsChecked(root)) return undefined;
  let found: Xattr[];
  try {
    found = readXattrs(p, root.asRoot);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
  const now = fs.lstatSync(p, { bigint: true, throwIfNoEntry: false });
  if (!now || now.ino !== st.ino || now.dev !== st.dev) return undefined;
  const want = xattrsOfKey(key);
  return xattrDigestOf(encodeXattrs(found)).equals(want) ? undefined : describe(root, found, want);
}

/**
 * A dated folder `abs` (lstat'ed as `st`) against its recorded digest: a message when its
 * attributes differ. Read through a descriptor opened without following symlinks, which must be
 * the folder looked at.
 */
export function folderXattrsProblem(root: Root, abs: Buffer, st: Lstat, digest: Buffer | undefined): string | undefined {
  if (!xattrsChecked(root)) return undefined;
  let fd: number;
  try {
    fd = fs.openSync(abs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined; // reported by the walk
    throw e;
  }
  try {
    const now = fs.fstatSync(fd, { bigint: true });
    if (now.ino !== st.ino || now.dev !== st.dev) return undefined;
    const found = readXattrs(openFolderPath(fd), root.asRoot);
    const want = digest ?? NO_XATTRS;
    return xattrDigestOf(encodeXattrs(found)).equals(want) ? undefined : describe(root, found, want);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether an object file still is what its name says, from one lstat: a regular file of the
 * recorded size with the mode, mtime (and, when owners are compared, uid/gid) its name promises.
 * Nothing is hard-linked to an object without this check (take's scan and ingest workers, the
 * object placer), and verify reports its differences. Content is only compared by hashing:
 * `take --checksum` and `verify` do that.
 */
import fs from 'node:fs';
import { nsToUs, xattrsOfKey, type ObjectKey } from '../model/object-key.js';
import { encodeXattrs, xattrDigestOf } from '../model/xattrs.js';
import { readXattrs } from './xattrs.js';
import type { Lstat } from '../util/fsat.js';

function octal(m: number): string {
  return '0' + m.toString(8).padStart(3, '0');
}

/** The metadata differences between an object inode and its name; empty when equal. */
export function inodeDrift(st: Pick<fs.BigIntStats, 'mode' | 'mtimeNs' | 'uid' | 'gid'>, key: ObjectKey, owners: boolean): string[] {
  const out: string[] = [];
  const mode = Number(st.mode & 0o7777n);
  if (mode !== key.mode) out.push(`mode ${octal(mode)}, expected ${octal(key.mode)}`);
  const us = nsToUs(st.mtimeNs);
  if (us !== key.mtimeUs) out.push(`mtime ${new Date(Number(us / 1000n)).toISOString()}, expected ${new Date(Number(key.mtimeUs / 1000n)).toISOString()}`);
  if (owners && (Number(st.uid) !== key.uid || Number(st.gid) !== key.gid)) out.push(`owner ${st.uid}:${st.gid}, expected ${key.uid}:${key.gid}`);
  return out;
}

/**
 * With attributes recorded (take --xattrs, or an object whose name carries a digest): the
 * inode linked as `linked` has the extended attributes its name's digest says. They are read
 * through the object's own name (the binding takes no descriptor, and the snapshot path may not
 * be valid UTF-8), which must still be that very inode afterwards.
 */
export function objectXattrsHold(objPath: string, linked: Pick<fs.BigIntStats, 'dev' | 'ino'>, key: ObjectKey, asRoot: boolean): boolean {
  const digest = xattrDigestOf(encodeXattrs(readXattrs(objPath, asRoot)));
  const st = fs.lstatSync(objPath, { bigint: true });
  return st.ino === linked.ino && st.dev === linked.dev && digest.equals(xattrsOfKey(key));
}

/** The object's inode (a regular file) has its recorded size and the metadata of its name. */
export function objectInodeHolds(st: Lstat, key: ObjectKey, size: bigint | number, owners: boolean): boolean {
  return st.isFile() && st.size === BigInt(size) && inodeDrift(st, key, owners).length === 0;
}

/**
 * What names an object of the store: a content hash plus the metadata its inode carries. Hard
 * links share one inode, so two files may share an object only when all of these agree. The
 * store names object files after it (src/store/layout.ts) and the catalog keys its `objects`
 * rows by it (src/catalog); both take it from here, with the one conversion from a file entry.
 */
import type { EntryMeta } from './entry.js';
import { NO_XATTRS } from './xattrs.js';

/** The metadata an inode carries; mtime to the microsecond, which is what Node can set. */
export interface InodeMeta {
  mode: number; // permission bits (& 0o7777)
  uid: number;
  gid: number;
  mtimeUs: bigint;
}

export interface ObjectKey extends InodeMeta {
  hash: Buffer;
  /**
   * The digest of the extended attributes the inode carries (src/model/xattrs.ts), when it has
   * any (`take --xattrs`); absent for none, so every object recorded without attributes keeps
   * its key, its name and its row.
   */
  xattrs?: Buffer;
}

/** Mtime in ns (as recorded) to the µs the inode can hold (floor, also for pre-1970 times). */
export function nsToUs(ns: bigint): bigint {
  const us = ns / 1000n;
  return ns < 0n && us * 1000n !== ns ? us - 1n : us;
}

/** The object a file with this content hash and metadata (and attribute digest) is a hard link to. */
export function objectKeyOf(hash: Buffer, meta: EntryMeta & { xattrs?: Buffer }): ObjectKey {
  const key: ObjectKey = { hash, mode: meta.mode, uid: meta.uid, gid: meta.gid, mtimeUs: nsToUs(meta.mtimeNs) };
  if (meta.xattrs && meta.xattrs.length > 0) key.xattrs = meta.xattrs;
  return key;
}

/** The key's attribute digest as the catalog stores it: empty for none. */
export function xattrsOfKey(key: { xattrs?: Buffer }): Buffer {
  return key.xattrs ?? NO_XATTRS;
}

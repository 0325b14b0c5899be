/**
 * The manifest model shared by the catalog (src/catalog) and the operations (src/ops). A snapshot
 * is a root tree; a tree is a sorted list of entries; a directory entry points at a subtree.
 */
export enum Kind {
  File = 1,
  Dir = 2,
  Symlink = 3,
}

export interface EntryMeta {
  mode: number; // permission bits (& 0o7777)
  uid: number;
  gid: number;
  mtimeNs: bigint;
}

export interface Entry extends EntryMeta {
  name: Buffer;
  kind: Kind;
  size: number;
  hash?: Buffer; // File
  target?: Buffer; // Symlink
  subtree?: number; // Dir: trees.id
  /** Files and folders: the digest of their extended attributes (src/model/xattrs.ts); absent for none. */
  xattrs?: Buffer;
}

/** Totals of a subtree, kept on each tree record so stats never have to walk. */
export interface TreeTotals {
  files: number;
  dirs: number;
  bytes: number;
}

export function kindName(k: Kind): 'file' | 'dir' | 'symlink' {
  return k === Kind.File ? 'file' : k === Kind.Dir ? 'dir' : 'symlink';
}

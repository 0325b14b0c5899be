/**
 * The inode of each referenced object, as the object check found it, by its row in verify_refs
 * (rid): the folder walk asks whether a snapshot file is its object's inode without an lstat of
 * the object file per path. Eight bytes per object (8 MB at a million), outside the JS heap.
 *
 * Only a positive answer is trusted: when the inode is unknown (the object file was missing or
 * not a regular file, or lies on another device) or differs, the walk asks the file system
 * again (sameInodeAsObject in check-folders.ts), which also covers link-limit replicas.
 */
import type { Lstat } from '../../util/fsat.js';

export class ObjectInodes {
  private readonly ino: BigUint64Array;
  private dev: bigint | undefined;

  constructor(maxRid: number) {
    this.ino = new BigUint64Array(maxRid + 1);
  }

  /** Object `rid`'s first file (replica 0) is the regular file `st`. */
  record(rid: number, st: Lstat): void {
    this.dev ??= st.dev;
    // Inode 0 is never a file's on Linux: 0 stays "unknown".
    if (st.dev === this.dev && rid < this.ino.length) this.ino[rid] = st.ino;
  }

  /** `st` is the inode recorded for object `rid`. */
  holds(rid: number | null, st: Lstat): boolean {
    if (rid === null || rid >= this.ino.length) return false;
    const ino = this.ino[rid]!;
    return ino !== 0n && ino === st.ino && st.dev === this.dev;
  }
}

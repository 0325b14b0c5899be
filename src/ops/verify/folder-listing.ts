/**
 * The names in one folder of a snapshot, in byte order, read by the cursor of the folder walk
 * (check-folders.ts) in step with the catalog's entries, which SQLite returns in the same order
 * (a merge join: no map of names, no object per name beyond the name itself).
 *
 * A folder whose inode is small (st_size: a few thousand names at most on any file system) is read
 * with one readdir; a bigger one is streamed into a packed, sorted name list
 * (src/util/name-list.ts), so a folder of a million names costs one buffer outside the JS heap,
 * not a million Buffers on it (and the walk checks such a folder on its own, one snapshot at a time).
 */
import fs from 'node:fs';
import { listFolderNames, nameAt } from '../../util/name-list.js';
import { SCAN_CHUNK } from '../../store/source-scan.js';
import { listNamesAt } from '../../util/fsat.js';
import { ErrnoError } from '../../errors.js';

/** Folders whose inode is at most this big are read whole (ext4: 16 blocks, some thousands of names). */
const SMALL_FOLDER_BYTES = 64n * 1024n;
/** Tests shrink SCAN_CHUNK (LINKSNAP_TEST_SCAN_CHUNK) to run the streamed path on small folders. */
const STREAM_ALWAYS = SCAN_CHUNK < 4096;

export class FolderListing {
  private i = 0;
  private off = 0;

  private constructor(
    private readonly names: Buffer[] | undefined,
    private readonly packed: Buffer | undefined,
    /** Bytes of a packed list (a big folder; 0 for a small one, read whole). */
    readonly packedBytes: number,
  ) {}

  /** List the open folder `fd` (one packed, sorted buffer). Throws what readdir throws, as ErrnoError. */
  static readAt(fd: number): FolderListing {
    const packed = listNamesAt(fd);
    if (typeof packed === 'string') throw new ErrnoError(packed, `${packed}: cannot list a snapshot folder`);
    return new FolderListing(undefined, packed, packed.length);
  }

  /** List the folder `abs`, whose lstat gave `size`. Throws what readdir throws. */
  static read(abs: Buffer, size: bigint): FolderListing {
    if (size <= SMALL_FOLDER_BYTES && !STREAM_ALWAYS) return FolderListing.small(fs.readdirSync(abs, { encoding: 'buffer' }));
    const listed = listFolderNames(abs, SCAN_CHUNK, false);
    if ('names' in listed) return FolderListing.small(listed.names);
    return new FolderListing(undefined, listed.packed, listed.packed.length);
  }

  private static small(names: Buffer[]): FolderListing {
    return new FolderListing(names.sort(Buffer.compare), undefined, 0);
  }

  private head(): Buffer | undefined {
    if (this.names) return this.names[this.i];
    return this.off < this.packed!.length ? nameAt(this.packed!, this.off) : undefined;
  }

  private next(): void {
    if (this.names) this.i++;
    else this.off += 2 + this.packed!.readUInt16LE(this.off);
  }

  /**
   * Whether `name` is in the folder. Names are asked for in byte order; the names passed over
   * (not in the catalog) are added to `extras`.
   */
  seek(name: Buffer, extras: Buffer[]): boolean {
    for (let h = this.head(); h !== undefined; h = this.head()) {
      const c = Buffer.compare(h, name);
      if (c > 0) return false;
      this.next();
      if (c === 0) return true;
      extras.push(h);
    }
    return false;
  }

  /** The names never asked for (not in the catalog), added to `extras`. */
  rest(extras: Buffer[]): void {
    for (let h = this.head(); h !== undefined; h = this.head()) {
      extras.push(h);
      this.next();
    }
  }
}

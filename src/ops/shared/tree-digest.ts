/**
 * The canonical encoding of a directory listing and its BLAKE3 digest: the key of a tree record.
 * Two folders with the same names, kinds, metadata and contents (recursively) get the same
 * digest, which is how unchanged folders are shared between snapshots. Changing this encoding
 * changes every digest: it is versioned by the "linksnap-tree-v1" prefix.
 *
 * An entry with extended attributes (take --xattrs) sets the kind byte's high bit and ends with
 * its 32-byte attribute digest; one without is encoded exactly as before attributes existed, so
 * every tree recorded without them keeps its digest.
 */
import { createHash, hashBytes } from '../../store/hasher.js';
import { Kind, type Entry } from '../../model/entry.js';

const PREFIX = Buffer.from('linksnap-tree-v1\n');
const HAS_XATTRS = 0x80;

export interface DigestInput {
  entry: Entry;
  /** For directories: the subtree's digest (ids are local to one catalog; digests are not). */
  childDigest?: Buffer;
}

function encode(parts: Buffer[], { entry: e, childDigest }: DigestInput): void {
  const head = Buffer.alloc(1 + 4 + 4 + 4 + 4 + 8 + 8);
  let o = 0;
  const xattrs = e.xattrs && e.xattrs.length > 0 ? e.xattrs : undefined;
  o = head.writeUInt8(xattrs ? e.kind | HAS_XATTRS : e.kind, o);
  o = head.writeUInt32BE(e.name.length, o);
  o = head.writeUInt32BE(e.mode, o);
  o = head.writeUInt32BE(e.uid, o);
  o = head.writeUInt32BE(e.gid, o);
  o = head.writeBigInt64BE(e.mtimeNs, o);
  head.writeBigUInt64BE(BigInt(e.size), o);
  parts.push(head, e.name);
  if (e.kind === Kind.File) parts.push(e.hash!);
  else if (e.kind === Kind.Symlink) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(e.target!.length);
    parts.push(len, e.target!);
  } else if (e.kind === Kind.Dir) parts.push(childDigest!);
  if (xattrs) parts.push(xattrs);
}

export function treeDigest(items: readonly DigestInput[]): Buffer {
  const parts: Buffer[] = [PREFIX];
  for (const item of items) encode(parts, item);
  return hashBytes(Buffer.concat(parts));
}

/** The same digest, fed a chunk of entries at a time (in name order), for folders too big to hold. */
export class TreeDigester {
  private readonly hash = createHash();

  constructor() {
    this.hash.update(PREFIX);
  }

  add(items: readonly DigestInput[]): void {
    const parts: Buffer[] = [];
    for (const item of items) encode(parts, item);
    this.hash.update(Buffer.concat(parts));
  }

  digest(): Buffer {
    return this.hash.digest();
  }
}

/**
 * The quick-check record of one source folder: what each entry looked like (kind, name, stat
 * fields) when a take last stored it, plus what it became (a file's content hash, a subfolder's
 * tree digest, a symlink's target). One packed buffer per folder, stored as a BLOB in the
 * catalog's `dir_cache` table (docs/design.md) and read by the scan workers, which link
 * unchanged files straight from it without asking the main thread.
 *
 * Why packed: a no-change take of 100,000 files used to read and write 100,000 SQLite rows and
 * build as many JS objects; one blob per folder is 5,000 rows, decoded only where something
 * changed. Records are sorted by name (byte order), so a folder's listing is merged with them in
 * one pass.
 *
 * Layout of one record, little-endian:
 *   u8 kind (Kind) | u8 0 | u16 name length | u32 mode (& 0o7777) | u32 uid | u32 gid |
 *   u64 dev | u64 ino | u64 size | i64 mtime ns | i64 ctime ns | u32 extra length | name | extra
 * where extra is the 32-byte hash (file), the 32-byte tree digest (folder) or the target
 * (symlink).
 */
import { Kind } from './entry.js';

const HEADER = 60;

export interface DirRecord {
  kind: Kind;
  name: Buffer;
  mode: number;
  uid: number;
  gid: number;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** File: content hash. Folder: its tree digest. Symlink: its target. */
  extra: Buffer;
}

/** Encoded size of one record. */
function recordLength(r: DirRecord): number {
  return HEADER + r.name.length + r.extra.length;
}

export function encodeRecord(r: DirRecord): Buffer {
  const b = Buffer.allocUnsafe(recordLength(r));
  let o = b.writeUInt8(r.kind, 0);
  o = b.writeUInt8(0, o);
  o = b.writeUInt16LE(r.name.length, o);
  o = b.writeUInt32LE(r.mode, o);
  o = b.writeUInt32LE(r.uid, o);
  o = b.writeUInt32LE(r.gid, o);
  o = b.writeBigUInt64LE(r.dev, o);
  o = b.writeBigUInt64LE(r.ino, o);
  o = b.writeBigUInt64LE(r.size, o);
  o = b.writeBigInt64LE(r.mtimeNs, o);
  o = b.writeBigInt64LE(r.ctimeNs, o);
  o = b.writeUInt32LE(r.extra.length, o);
  b.set(r.name, o);
  b.set(r.extra, o + r.name.length);
  return b;
}

/**
 * Start offsets of the records in `buf` (plus the end, so record i spans offs[i]..offs[i+1]).
 * A truncated or malformed buffer yields the records before the damage: a cache only ever costs
 * a re-read, never a wrong answer, because every record is checked against a fresh lstat.
 */
export function recordOffsets(buf: Buffer): number[] {
  const offs: number[] = [];
  let o = 0;
  while (o + HEADER <= buf.length) {
    const end = o + HEADER + buf.readUInt16LE(o + 2) + buf.readUInt32LE(o + 56);
    if (end > buf.length) break;
    offs.push(o);
    o = end;
  }
  offs.push(o);
  return offs;
}

/** The name of the record at `off`, as a view (no copy). */
export function recordName(buf: Buffer, off: number): Buffer {
  return buf.subarray(off + HEADER, off + HEADER + buf.readUInt16LE(off + 2));
}

export function recordKind(buf: Buffer, off: number): Kind {
  return buf.readUInt8(off) as Kind;
}

/**
 * True when a file record still describes `st`: same inode, size, mtime and ctime (any write
 * changes mtime and ctime; chmod/chown change ctime; a replaced file has a new inode).
 */
export function recordMatchesStat(
  buf: Buffer,
  off: number,
  st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint },
): boolean {
  return (
    buf.readBigUInt64LE(off + 24) === st.ino &&
    buf.readBigInt64LE(off + 40) === st.mtimeNs &&
    buf.readBigInt64LE(off + 48) === st.ctimeNs &&
    buf.readBigUInt64LE(off + 32) === st.size &&
    buf.readBigUInt64LE(off + 16) === st.dev
  );
}

/** A decoded record still describes this entry: same kind and the same inode, size and times. */
export function recordHolds(
  rec: DirRecord | undefined,
  kind: Kind,
  st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint },
): rec is DirRecord {
  return rec !== undefined && rec.kind === kind && rec.ino === st.ino && rec.mtimeNs === st.mtimeNs && rec.ctimeNs === st.ctimeNs && rec.size === st.size && rec.dev === st.dev;
}

export function readRecord(buf: Buffer, off: number): DirRecord {
  const nameLen = buf.readUInt16LE(off + 2);
  const extraLen = buf.readUInt32LE(off + 56);
  const name = buf.subarray(off + HEADER, off + HEADER + nameLen);
  return {
    kind: buf.readUInt8(off) as Kind,
    name,
    mode: buf.readUInt32LE(off + 4),
    uid: buf.readUInt32LE(off + 8),
    gid: buf.readUInt32LE(off + 12),
    dev: buf.readBigUInt64LE(off + 16),
    ino: buf.readBigUInt64LE(off + 24),
    size: buf.readBigUInt64LE(off + 32),
    mtimeNs: buf.readBigInt64LE(off + 40),
    ctimeNs: buf.readBigInt64LE(off + 48),
    extra: buf.subarray(off + HEADER + nameLen, off + HEADER + nameLen + extraLen),
  };
}

/** Every record of a folder, keyed by name (latin1: one char per byte). */
export function decodeRecords(buf: Buffer): Map<string, DirRecord> {
  const offs = recordOffsets(buf);
  const m = new Map<string, DirRecord>();
  for (let i = 0; i + 1 < offs.length; i++) {
    const r = readRecord(buf, offs[i]!);
    m.set(r.name.toString('latin1'), r);
  }
  return m;
}

/**
 * The quick check: how a take knows that a source file, symlink or folder is unchanged without
 * reading it. Everything that decides it lives here, and every reader uses it — the scan
 * workers, take's main thread, `take --dry-run` and `diff`:
 *
 *   - the record: what each entry of a source folder looked like when a take last stored it
 *     (its stat fields) and what it became (a file's content hash, a folder's tree digest, a
 *     symlink's target); one packed buffer per folder, stored by the catalog (`quick_check`);
 *   - the one comparison, recordHolds: same kind, inode, size, mtime and ctime. Any write changes
 *     mtime and ctime, chmod/chown/xattr changes change ctime, and a replaced file has a new
 *     inode; ctime cannot be set by users, so a rewrite with the old mtime put back is noticed;
 *   - the racy window: an entry changed this close to the take's start gets no record, because a
 *     later change within the same timestamp tick could leave every compared field as it was
 *     (git's "racy clean" problem); it is read again next time;
 *   - reusing a folder's tree: when every entry of a folder holds its record and no name
 *     appeared or vanished, the folder's tree is the digest its records remember — unless some
 *     entry had no record, which must never hide a deleted file;
 *   - the exclude rules: records list only what the rules let in, so they are trusted only under
 *     the rules they were written with.
 *
 * Why packed: a no-change take of 100,000 files used to read and write 100,000 SQLite rows and
 * build as many JS objects; one buffer per folder is 5,000 rows, decoded only where something
 * changed. Records are sorted by name (byte order), so a listing is merged with them in one pass.
 *
 * Layout of one record, little-endian:
 *   u8 kind (Kind) | u8 0 | u16 name length | u32 mode (& 0o7777) | u32 uid | u32 gid |
 *   u64 dev | u64 ino | u64 size | i64 mtime ns | i64 ctime ns | u32 extra length | name | extra
 * where extra is the 32-byte hash (file), the 32-byte tree digest (folder) or the target
 * (symlink). With `take --xattrs`, a file's or folder's extra is followed by the 32-byte digest
 * of its extended attributes when it has any (extraParts): attributes change ctime, so a record
 * that holds vouches for them too, and an unchanged file is linked without reading them.
 */
import { Kind } from './entry.js';

const HEADER = 60;
/** A content hash or tree digest. */
const ID_BYTES = 32;

export interface QuickCheckRecord {
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

/** The stat fields the comparison looks at (fs.BigIntStats has them). */
export interface StatFields {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function encodeRecord(r: QuickCheckRecord): Buffer {
  const b = Buffer.allocUnsafe(HEADER + r.name.length + r.extra.length);
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
 * A truncated or malformed buffer yields the records before the damage: a record only ever costs
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

export function readRecord(buf: Buffer, off: number): QuickCheckRecord {
  const nameLen = buf.readUInt16LE(off + 2);
  const extraLen = buf.readUInt32LE(off + 56);
  return {
    kind: buf.readUInt8(off) as Kind,
    name: buf.subarray(off + HEADER, off + HEADER + nameLen),
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

/** A file's or folder's extra: its hash or tree digest (32 bytes), then its attribute digest if any. */
export function extraParts(extra: Buffer): { id: Buffer; xattrs?: Buffer } {
  return extra.length > ID_BYTES ? { id: extra.subarray(0, ID_BYTES), xattrs: extra.subarray(ID_BYTES) } : { id: extra };
}

/** The extra of a file or folder: its hash or tree digest, then its attribute digest when not empty. */
export function extraOf(id: Buffer, xattrs: Buffer | undefined): Buffer {
  return xattrs && xattrs.length > 0 ? Buffer.concat([id, xattrs]) : id;
}

/** What the record at `off` became: a file's hash, a folder's digest, a symlink's target. */
export function recordExtra(buf: Buffer, off: number): Buffer {
  const start = off + HEADER + buf.readUInt16LE(off + 2);
  return buf.subarray(start, start + buf.readUInt32LE(off + 56));
}

/**
 * THE comparison: the record at `off` still describes an entry of `kind` with these stat
 * fields. Reads the packed buffer in place (it runs once per file of every take).
 */
export function recordHolds(buf: Buffer, off: number, kind: Kind, st: StatFields): boolean {
  return (
    buf.readUInt8(off) === kind &&
    buf.readBigUInt64LE(off + 24) === st.ino &&
    buf.readBigInt64LE(off + 40) === st.mtimeNs &&
    buf.readBigInt64LE(off + 48) === st.ctimeNs &&
    buf.readBigUInt64LE(off + 32) === st.size &&
    buf.readBigUInt64LE(off + 16) === st.dev
  );
}

/** A folder's records by name (latin1: one char per byte) → offset, for lookups by name. */
export function recordsByName(buf: Buffer): Map<string, number> {
  const offs = recordOffsets(buf);
  const m = new Map<string, number>();
  for (let i = 0; i + 1 < offs.length; i++) m.set(recordName(buf, offs[i]!).toString('latin1'), offs[i]!);
  return m;
}

/**
 * The content hash a folder's records vouch for, when the record named `name` still holds for
 * a file with these stat fields; undefined when the file must be read.
 */
export function knownHash(buf: Buffer, byName: Map<string, number>, name: Buffer, st: StatFields): Buffer | undefined {
  const off = byName.get(name.toString('latin1'));
  return off !== undefined && recordHolds(buf, off, Kind.File, st) ? extraParts(recordExtra(buf, off)).id : undefined;
}

// ---- the racy window ------------------------------------------------------------------------

/** 2 s covers the coarsest timestamp clocks (FAT, some network file systems). */
export const DEFAULT_RACY_WINDOW_MS = 2000;

/** Timestamps at or after this (ns) are too new to record; see settled(). */
export function racyCutoffNs(startedNs: bigint, windowMs: number): bigint {
  return startedNs - BigInt(windowMs) * 1_000_000n;
}

/** An entry may get a record: neither its mtime nor its ctime is within the racy window. */
export function settled(st: { mtimeNs: bigint; ctimeNs: bigint }, cutoffNs: bigint): boolean {
  return st.mtimeNs < cutoffNs && st.ctimeNs < cutoffNs;
}

// ---- reusing a folder's tree ----------------------------------------------------------------

/** The digest remembered for a folder whose tree must be rebuilt next time. */
export const NO_DIGEST = Buffer.alloc(0);

/**
 * The digest to remember with a folder's records: its tree digest when every entry got a
 * record, else NO_DIGEST — an entry without a record is looked at again, and a folder that
 * "matched" without it could hide that the entry was deleted.
 */
export function digestToRemember(digest: Buffer, entries: number, recorded: number): Buffer {
  return recorded === entries ? digest : NO_DIGEST;
}

/** The tree digest a folder's records let a take reuse as is, or undefined. */
export function reusableDigest(remembered: Buffer): Buffer | undefined {
  return remembered.length > 0 ? remembered : undefined;
}

// ---- the exclude rules ----------------------------------------------------------------------

/** Where the catalog keeps the key of the rules the records were written under. */
export const RULES_SETTING = 'quick_check.excludes';

/**
 * The key of a take's exclude rules (ExcludeMatcher.key). A predicate without a key (a library
 * caller's own function) cannot be compared, so it gets a key no other run has.
 */
export function rulesKeyOf(exclude: { key?: string } | undefined, xattrs = false): string {
  const rules = !exclude ? 'none' : (exclude.key ?? `unkeyed ${process.pid} ${process.hrtime.bigint()}`);
  // Records written with attributes carry their digests, and those without do not: a take that
  // turns --xattrs on or off starts the records afresh, so each file is read once.
  return xattrs ? `${rules} +xattrs` : rules;
}

/**
 * Records written under `savedKey` may be trusted by a take under `rulesKey`: workers link from
 * records without asking the rules, so other rules (an edited .snapignore, other --exclude
 * options) mean the next take reads every file once.
 */
export function recordsTrusted(savedKey: string | undefined, rulesKey: string): boolean {
  return savedKey === rulesKey;
}

// ---- folders of any size --------------------------------------------------------------------

/**
 * The records of `buf` whose names lie in [lo, hi) (undefined: unbounded), as one view. A big
 * folder is scanned a chunk of names at a time; each chunk gets exactly the records of its range,
 * so every record is accounted for by exactly one chunk.
 */
export function recordsInRange(buf: Buffer, lo: Buffer | undefined, hi: Buffer | undefined): Buffer {
  const offs = recordOffsets(buf);
  let start = 0;
  let end = offs.length - 1;
  if (lo) while (start < end && Buffer.compare(recordName(buf, offs[start]!), lo) < 0) start++;
  if (hi) {
    let i = start;
    while (i < end && Buffer.compare(recordName(buf, offs[i]!), hi) < 0) i++;
    end = i;
  }
  return buf.subarray(offs[start]!, offs[end]!);
}

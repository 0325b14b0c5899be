/**
 * Storing one small source file with plain synchronous syscalls: read it (O_NOFOLLOW, and
 * O_NONBLOCK so a FIFO never blocks), check it did not change while read, hash it, write it into
 * the folder being built (metadata set on the fd) and publish that inode as the object with
 * link(2), which never replaces; when the store already has the object, link that one instead. Runs in the ingest workers
 * (ingest-worker.ts), one file after another, so two cores share the work of a first take.
 *
 * It trusts an existing object file of the same name: at the start of every take the store holds
 * no object file the catalog does not know (a run that did not finish cleanly leaves a marker,
 * and the next take sweeps such files first; see src/ops/take/take.ts), and within a take every
 * object was published complete.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hashBytes } from './hasher.js';
import { objectName, quarantineName } from './layout.js';
import { objectInodeHolds, objectXattrsHold } from './object-check.js';
import { tmpName } from './blobfile.js';
import { readXattrs, writeXattrs, xattrPathOf } from './xattrs.js';
import { NO_XATTRS, decodeXattrs, encodeXattrs, xattrDigestOf, type Xattr } from '../model/xattrs.js';
import { nsToUs, type InodeMeta, type ObjectKey } from '../model/object-key.js';
import { usToUtimeArg } from './times.js';
import { faultPoint } from '../util/fault.js';
import { ErrnoError, errnoCode } from '../errors.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;

export const INGEST_SMALL_LIMIT = 1 << 20;
const HOLE_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(HOLE_BLOCK);
const MAX_READ_ATTEMPTS = 4;
const SLASH = Buffer.from('/');
/** Who owns a file we create (in a private staging folder: never a set-gid one). */
const OUR_UID = process.geteuid?.() ?? -1;
const OUR_GID = process.getegid?.() ?? -1;

export interface IngestJob {
  name: Buffer;
  dev: bigint;
  ino: bigint;
}

export interface IngestBatch {
  /** The source folder (its /proc/self/fd path: see source-scan.ts). */
  srcDir: Buffer;
  stageDir: Buffer;
  objectsDir: string;
  /** Where a damaged object is moved aside. */
  trashDir: string;
  asRoot: boolean;
  /** --checksum: an existing object's bytes are compared too, not only its size and metadata. */
  checksum: boolean;
  /**
   * take --xattrs: each file's recorded extended attributes are read with its content and are
   * part of its object; a file with some is written in `tmpDir` (a name the binding can take),
   * given them, published, then linked into the folder being built.
   */
  xattrs: boolean;
  tmpDir: string;
  files: IngestJob[];
}

export type IngestResult =
  | {
      status: 'ok';
      hash: Buffer;
      size: number;
      mode: number;
      uid: number;
      gid: number;
      mtimeNs: bigint;
      ctimeNs: bigint;
      dev: bigint;
      ino: bigint;
      /** This call published the object (else it existed). */
      created: boolean;
      /** Linked into the stage folder (false: link limit reached; the caller does it). */
      linked: boolean;
      changing: boolean;
      /** The store's object of this name was damaged: it was moved aside and this one published. */
      damaged: boolean;
      /** With xattrs: the canonical encoding of the file's attribute set and its digest (both empty for none). */
      xattrSet: Buffer;
      xattrs: Buffer;
    }
  /** Not a small regular file any more, or replaced: the caller takes the careful path. */
  | { status: 'slow' }
  | { status: 'error'; code: string };

function errCode(e: unknown): string {
  return errnoCode(e) ?? 'EIO';
}

/**
 * One read of the file at `p` (through its folder's descriptor). With `xattrPath` (the same
 * file as a string) its attributes are read too, between the two fstats, so they belong to the
 * version read; and the name must still be the inode read afterwards.
 */
function readOnce(p: Buffer, expect: IngestJob, xattrPath: string | undefined, asRoot: boolean): { data: Buffer; before: fs.BigIntStats; after: fs.BigIntStats; xattrSet: Buffer } | 'slow' {
  const fd = fs.openSync(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const before = fs.fstatSync(fd, { bigint: true });
    if (!before.isFile() || before.dev !== expect.dev || before.ino !== expect.ino || before.size > BigInt(INGEST_SMALL_LIMIT)) return 'slow';
    const size = Number(before.size);
    const data = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, data, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    let xattrSet: Buffer = NO_XATTRS;
    if (xattrPath !== undefined) {
      xattrSet = encodeXattrs(readXattrs(xattrPath, asRoot));
      const named = fs.lstatSync(p, { bigint: true });
      if (named.ino !== before.ino || named.dev !== before.dev) return 'slow'; // replaced meanwhile
    }
    const after = fs.fstatSync(fd, { bigint: true });
    return { data: got === size ? data : data.subarray(0, got), before, after, xattrSet };
  } finally {
    fs.closeSync(fd);
  }
}

function writeObject(file: Buffer | string, data: Buffer, meta: InodeMeta, asRoot: boolean, xattrs: readonly Xattr[]): void {
  const fd = fs.openSync(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    let holes = false;
    for (let off = 0; off < data.length; off += HOLE_BLOCK) {
      const end = Math.min(off + HOLE_BLOCK, data.length);
      if (end - off === HOLE_BLOCK && ZEROS.compare(data, off, end) === 0) {
        holes = true; // leave a hole: sparse content stays sparse
        continue;
      }
      let done = 0;
      while (done < end - off) done += fs.writeSync(fd, data, off + done, end - off - done, off + done);
    }
    if (holes) fs.ftruncateSync(fd, data.length);
    // chown first: it clears set-uid/set-gid bits, which fchmod then restores. A new file is
    // already ours, so only a different owner costs the syscall.
    if (asRoot && (meta.uid !== OUR_UID || meta.gid !== OUR_GID)) fs.fchownSync(fd, meta.uid, meta.gid);
    fs.fchmodSync(fd, meta.mode);
    // After chown (which clears file capabilities) and chmod (which rewrites an ACL's mask);
    // setting an access ACL sets the group permission bits from its mask, as the source had them.
    if (xattrs.length > 0) setAllXattrs(file as string, xattrs, asRoot);
    const t = usToUtimeArg(meta.mtimeUs);
    fs.futimesSync(fd, t, t);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * link(2) a complete file to its object name; false when the name exists (published by the other worker, or
 * earlier: trustworthy, see the module comment). Creates the fan-out folder on first use.
 */
function publishSync(file: Buffer | string, objPath: string): boolean {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.linkSync(file, objPath);
      return true;
    } catch (e) {
      const code = errCode(e);
      if (code === 'EEXIST') return false;
      if (code !== 'ENOENT' || attempt > 0) throw e;
      fs.mkdirSync(path.dirname(objPath), { recursive: true, mode: 0o700 });
    }
  }
}

export function ingestOne(batch: IngestBatch, job: IngestJob): IngestResult {
  const src = Buffer.concat([batch.srcDir, Buffer.from('/'), job.name]);
  let xattrPath: string | undefined;
  if (batch.xattrs) {
    xattrPath = xattrPathOf(batch.srcDir.toString('latin1'), job.name);
    if (xattrPath === undefined) return { status: 'slow' }; // a name the binding cannot take: the main thread warns
  }
  let read: ReturnType<typeof readOnce> = 'slow';
  let changing = false;
  try {
    for (let attempt = 1; ; attempt++) {
      read = readOnce(src, job, xattrPath, batch.asRoot);
      if (read === 'slow') return { status: 'slow' };
      const { before, after, data } = read;
      if (before.size === after.size && before.mtimeNs === after.mtimeNs && before.ctimeNs === after.ctimeNs && BigInt(data.length) === after.size) break;
      if (attempt >= MAX_READ_ATTEMPTS) {
        changing = true; // stored as last read; the bytes and their hash still agree
        break;
      }
    }
  } catch (e) {
    const code = errCode(e);
    return code === 'ELOOP' || code === 'ENXIO' ? { status: 'slow' } : { status: 'error', code };
  }
  const { data, before, xattrSet } = read;
  const hash = hashBytes(data);
  const meta: InodeMeta = { mode: Number(before.mode & 0o7777n), uid: Number(before.uid), gid: Number(before.gid), mtimeUs: nsToUs(before.mtimeNs) };
  const xattrs = xattrDigestOf(xattrSet);
  const key: ObjectKey = xattrs.length > 0 ? { hash, ...meta, xattrs } : { hash, ...meta };
  const hex = hash.toString('hex');
  const objPath = path.join(batch.objectsDir, hex.slice(0, 2), objectName(key));
  // The object is written straight into the folder being built, then published by linking it
  // into the store: one link instead of tmp → link → unlink → link. The folder is private
  // staging (removed on any failure), and link(2) never replaces an object that exists.
  // No existence probe first: most files of a first take are new, and a duplicate costs one
  // small wasted write instead of every file costing a lookup.
  const dest = Buffer.concat([batch.stageDir, SLASH, job.name]);
  // A file with attributes is written under a tmp name: the binding takes string paths only.
  const file = xattrs.length > 0 ? tmpName(batch.tmpDir) : dest;
  writeObject(file, data, meta, batch.asRoot, xattrs.length > 0 ? decodeXattrs(xattrSet)! : []);
  let created = false;
  let damaged = false;
  let linked = true;
  for (let attempt = 1; ; attempt++) {
    if (publishSync(file, objPath)) {
      created = true;
      faultPoint('object:published');
      if (file !== dest) {
        fs.linkSync(objPath, dest);
        fs.unlinkSync(file);
      }
      faultPoint('object:linked');
      break;
    }
    // The store has this object already (the other worker, an earlier file or take): the folder
    // must hold that inode, not a second copy — once it is checked to still be what its name
    // says. A damaged one is moved aside (never reused) and ours is published in its place.
    const verdict = existingObject(objPath, key, data, batch);
    if (verdict === 'damaged' && attempt < 3) {
      damaged = true;
      quarantine(objPath, batch.trashDir);
      continue;
    }
    if (verdict === 'gone' && attempt < 3) continue; // moved aside by the other worker meanwhile
    if (verdict !== 'intact') throw new ErrnoError('EIO', `object ${objPath} keeps changing under this take`, objPath);
    fs.unlinkSync(file);
    try {
      fs.linkSync(objPath, dest);
      faultPoint('object:linked');
    } catch (e) {
      if (errCode(e) !== 'EMLINK') throw e;
      linked = false; // link limit: the caller links a replica
    }
    break;
  }
  return {
    status: 'ok',
    hash,
    size: data.length,
    ...meta,
    mtimeNs: before.mtimeNs,
    ctimeNs: before.ctimeNs,
    dev: before.dev,
    ino: before.ino,
    created,
    linked,
    changing,
    damaged,
    xattrSet,
    xattrs,
  };
}

/** Give a new file (by a name linksnap made) its attributes; one the store refuses fails the take. */
function setAllXattrs(file: string, xattrs: readonly Xattr[], asRoot: boolean): void {
  const refused = writeXattrs(file, xattrs, asRoot);
  if (refused.length > 0) {
    const r = refused[0]!;
    throw new ErrnoError(r.code, `${r.code}: the store's file system refuses the extended attribute ${r.name} (an object must carry what its name says)`, file);
  }
}

/**
 * Whether an existing object still is what its name says: its inode's size and metadata, and
 * with --checksum its bytes (compared with the bytes just read from the source, which hash to
 * its name).
 */
function existingObject(objPath: string, key: ObjectKey, data: Buffer, batch: IngestBatch): 'intact' | 'damaged' | 'gone' {
  let fd: number;
  try {
    fd = fs.openSync(objPath, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT') return 'gone';
    if (code === 'ELOOP' || code === 'ENXIO') return 'damaged'; // a symlink or a FIFO where an object belongs
    throw e;
  }
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    if (!objectInodeHolds(st, key, data.length, batch.asRoot)) return 'damaged';
    if (batch.xattrs && !objectXattrsHold(objPath, st, key, batch.asRoot)) return 'damaged';
    if (!batch.checksum) return 'intact';
    const stored = Buffer.allocUnsafe(data.length);
    let got = 0;
    while (got < stored.length) {
      const n = fs.readSync(fd, stored, got, stored.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === data.length && stored.equals(data) ? 'intact' : 'damaged';
  } finally {
    fs.closeSync(fd);
  }
}

/** Move a damaged object out of the store's name space (into .snap/trash), keeping its inode. */
function quarantine(objPath: string, trashDir: string): void {
  try {
    fs.renameSync(objPath, quarantineName(trashDir, path.basename(objPath)));
  } catch (e) {
    if (errCode(e) !== 'ENOENT') throw e; // the other worker moved it first
  }
}

/** A whole batch; an unexpected error (ENOSPC...) is returned for the caller to throw. */
export function ingestBatch(batch: IngestBatch): { results: IngestResult[] } | { fatal: { code: string; message: string } } {
  const results: IngestResult[] = [];
  try {
    for (const job of batch.files) results.push(ingestOne(batch, job));
    return { results };
  } catch (e) {
    return { fatal: { code: errCode(e), message: (e as Error).message } };
  }
}

/**
 * Reading source files into blobs and publishing them. Blobs are written to .snap/tmp, given
 * their final metadata, and only then published under their object name with link(2), which
 * fails rather than replace an existing name: a published blob is never modified or replaced.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createHash, hashBytes } from './hasher.js';
import { usToUtimeArg } from './times.js';
import { type InodeMeta } from '../model/object-key.js';
import { ErrnoError, errnoCode } from '../errors.js';
import type { Xattr } from '../model/xattrs.js';
import { writeXattrs } from './xattrs.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_WRONLY, O_CREAT, O_EXCL } = fs.constants;

/** Files up to this size are read whole; larger ones are streamed through a fixed buffer. */
export const SMALL_FILE_LIMIT = 1 << 20;
const CHUNK = 1 << 20;
/** Zero runs of at least this size are left as holes, so sparse files stay sparse. */
const HOLE_BLOCK = 64 * 1024;

export interface ReadResult {
  hash: Buffer;
  size: number;
  /** The whole content, for small files. */
  data?: Buffer;
  /** A tmp file holding the content (large files), still without its final metadata. */
  tmpPath?: string;
  /** fstat before and after reading: the read is stable when size, mtime and ctime agree. */
  before: fs.BigIntStats;
  after: fs.BigIntStats;
}

export class NotARegularFile extends Error {}

export function tmpName(tmpDir: string): string {
  return path.join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
}

const ZEROS = Buffer.alloc(HOLE_BLOCK);

function isZero(buf: Buffer, start: number, end: number): boolean {
  return ZEROS.compare(buf, start, end, 0, end - start) === 0; // memcmp in native code
}

/**
 * Write `buf[0..len)` at `pos`, skipping whole zero blocks so they become holes. The caller
 * ftruncates to the final size, which also covers a trailing hole.
 */
async function writeSparse(fh: fsp.FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let off = 0;
  while (off < len) {
    const end = Math.min(off + HOLE_BLOCK, len);
    if (end - off === HOLE_BLOCK && isZero(buf, off, end)) {
      off = end;
      continue;
    }
    // Gather consecutive non-hole blocks into one write.
    let stop = end;
    while (stop < len) {
      const e2 = Math.min(stop + HOLE_BLOCK, len);
      if (e2 - stop === HOLE_BLOCK && isZero(buf, stop, e2)) break;
      stop = e2;
    }
    let done = 0;
    while (done < stop - off) {
      const { bytesWritten } = await fh.write(buf, off + done, stop - off - done, pos + off + done);
      done += bytesWritten;
    }
    off = stop;
  }
}

export async function writeTmpFile(tmpDir: string, data: Buffer): Promise<string> {
  const p = tmpName(tmpDir);
  const fh = await fsp.open(p, O_WRONLY | O_CREAT | O_EXCL, 0o600);
  try {
    await writeSparse(fh, data, data.length, 0);
    await fh.truncate(data.length);
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(p, { force: true });
    throw e;
  }
  await fh.close();
  return p;
}

/**
 * Read a source file and hash it. The file is opened with O_NOFOLLOW (a symlink swapped in
 * after lstat is not followed) and O_NONBLOCK (a FIFO swapped in never hangs us), and must be
 * the same inode that the walk saw. Large files are copied to a tmp file while being hashed, so
 * the blob is exactly the bytes that were hashed even if the source changes under us.
 */
export async function readSourceFile(
  src: Buffer,
  expect: { dev: bigint; ino: bigint },
  tmpDir: string,
  keepLarge: boolean,
): Promise<ReadResult> {
  const fh = await fsp.open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const before = await fh.stat({ bigint: true });
    if (!before.isFile() || before.dev !== expect.dev || before.ino !== expect.ino) {
      throw new NotARegularFile('the file was replaced while it was being read');
    }
    if (before.size <= BigInt(SMALL_FILE_LIMIT)) {
      const data = await fh.readFile();
      if (data.length <= SMALL_FILE_LIMIT) {
        const after = await fh.stat({ bigint: true });
        return { hash: hashBytes(data), size: data.length, data, before, after };
      }
      // It grew past the limit while we read: fall through and stream it from the start.
    }
    return await streamLarge(fh, before, tmpDir, keepLarge);
  } finally {
    await fh.close();
  }
}

async function streamLarge(
  fh: fsp.FileHandle,
  before: fs.BigIntStats,
  tmpDir: string,
  keep: boolean,
): Promise<ReadResult> {
  const hasher = createHash();
  const buf = Buffer.allocUnsafe(CHUNK);
  const tmpPath = keep ? tmpName(tmpDir) : undefined;
  const out = tmpPath ? await fsp.open(tmpPath, O_WRONLY | O_CREAT | O_EXCL, 0o600) : undefined;
  let pos = 0;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
      if (out) await writeSparse(out, buf, bytesRead, pos);
      pos += bytesRead;
    }
    if (out) await out.truncate(pos);
  } catch (e) {
    if (out) await out.close().catch(() => {});
    if (tmpPath) await fsp.rm(tmpPath, { force: true });
    throw e;
  }
  if (out) await out.close();
  const after = await fh.stat({ bigint: true });
  return { hash: hasher.digest(), size: pos, tmpPath, before, after };
}

/**
 * Give a tmp file the inode metadata it will be published with (owner only when root), and its
 * extended attributes when it has recorded ones; any the store refuses fails (an object must
 * carry what its name says).
 */
export async function applyInodeMeta(p: string, meta: InodeMeta, asRoot: boolean, xattrs: readonly Xattr[] = []): Promise<void> {
  // chown first: it clears set-uid/set-gid bits, which chmod then restores.
  if (asRoot) await fsp.chown(p, meta.uid, meta.gid);
  await fsp.chmod(p, meta.mode);
  // After chown (it clears file capabilities) and chmod (it rewrites an access ACL's mask).
  const refused = xattrs.length > 0 ? writeXattrs(p, xattrs, asRoot) : [];
  if (refused.length > 0) throw new ErrnoError(refused[0]!.code, `${refused[0]!.code}: the store's file system refuses the extended attribute ${refused[0]!.name}`, p);
  const t = usToUtimeArg(meta.mtimeUs);
  await fsp.utimes(p, t, t);
}

/**
 * Publish tmpPath as objPath with link(2), which never replaces an existing name. When the name
 * is taken, `replace` says whether the existing file may go: the caller passes true only for a
 * name the catalog does not know (a leftover of a run that never committed), never for a
 * published blob. The tmp file is removed either way.
 */
export async function publish(tmpPath: string, objPath: string, replace: boolean): Promise<'published' | 'exists'> {
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.link(tmpPath, objPath);
        return 'published';
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'ENOENT' && attempt === 0) {
          await fsp.mkdir(path.dirname(objPath), { recursive: true, mode: 0o700 });
          continue;
        }
        if (code !== 'EEXIST') throw e;
        if (!replace || attempt > 2) return 'exists';
        await fsp.rm(objPath, { force: true });
      }
    }
  } finally {
    await fsp.rm(tmpPath, { force: true });
  }
}

/** Hash a file of the store without following symlinks; streams, memory stays at one chunk. */
export async function hashStoredFile(p: string | Buffer): Promise<{ hash: Buffer; size: number; stat: fs.BigIntStats }> {
  const fh = await fsp.open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const stat = await fh.stat({ bigint: true });
    if (!stat.isFile()) throw new NotARegularFile(`${String(p)} is not a regular file`);
    const hasher = createHash();
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return { hash: hasher.digest(), size: pos, stat };
  } finally {
    await fh.close();
  }
}

/** Copy a stored object into a new tmp file (for a link-limit replica or a repair). */
export async function copyToTmp(src: string, tmpDir: string): Promise<string> {
  const p = tmpName(tmpDir);
  // FICLONE where the file system supports it (btrfs, XFS): a replica then costs no data blocks.
  await fsp.copyFile(src, p, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
  return p;
}

/**
 * Copying one stored object into a new, independent file while checking its BLAKE3: restore
 * never hard-links into the store (editing a restored file must not touch history), and never
 * hands out bytes whose hash differs from what the catalog recorded.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createHash } from '../../store/hasher.js';
import { objectPath, type StoreLayout } from '../../store/layout.js';
import { type ObjectKey } from '../../model/object-key.js';
import { SnapError, errnoCode } from '../../errors.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const CHUNK = 1 << 20;
/** Zero blocks of this size are skipped (left as holes), so sparse files stay sparse. */
const HOLE_BLOCK = 64 * 1024;
const ZEROS = Buffer.alloc(HOLE_BLOCK);

export class ContentMismatch extends SnapError {}

async function writeAll(out: fsp.FileHandle, buf: Buffer, start: number, end: number, pos: number): Promise<void> {
  let done = 0;
  while (done < end - start) {
    const { bytesWritten } = await out.write(buf, start + done, end - start - done, pos + done);
    done += bytesWritten;
  }
}

/** Write buf[0..len) at pos, skipping whole zero blocks; the caller truncates to the final size. */
async function writeSparse(out: fsp.FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let off = 0;
  while (off < len) {
    const end = Math.min(off + HOLE_BLOCK, len);
    if (end - off === HOLE_BLOCK && ZEROS.compare(buf, off, end) === 0) {
      off = end;
      continue;
    }
    await writeAll(out, buf, off, end, pos + off);
    off = end;
  }
}

/** Open the first replica of the object that exists (replica 0 normally). */
async function openObject(layout: StoreLayout, key: ObjectKey, replicas: number, shown: string): Promise<fsp.FileHandle> {
  for (let r = 0; r < Math.max(1, replicas); r++) {
    try {
      const fh = await fsp.open(objectPath(layout, key, r), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      const st = await fh.stat();
      if (st.isFile()) return fh;
      await fh.close();
    } catch (e) {
      const code = errnoCode(e);
      if (code !== 'ENOENT' && code !== 'ELOOP') throw e;
    }
  }
  throw new SnapError('CATALOG', `the stored content of ${shown} is missing from the store (${objectPath(layout, key)})`, {
    hint: 'run `snap verify <root> --repair`, or restore this path from another snapshot (see `snap log`)',
  });
}

/**
 * Copy the object's bytes into `out` (a new empty file) and check the hash and size. Throws
 * ContentMismatch (exit 6) when the store's bytes are not the recorded content.
 */
export async function copyVerified(
  layout: StoreLayout,
  key: ObjectKey,
  size: number,
  replicas: number,
  out: fsp.FileHandle,
  shown: string,
  onBytes?: (n: number) => void,
): Promise<void> {
  const src = await openObject(layout, key, replicas, shown);
  const hasher = createHash();
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
  let pos = 0;
  try {
    for (;;) {
      const { bytesRead } = await src.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      hasher.update(buf.subarray(0, bytesRead));
      await writeSparse(out, buf, bytesRead, pos);
      pos += bytesRead;
      onBytes?.(bytesRead);
    }
  } finally {
    await src.close();
  }
  // Only needed when trailing zero blocks were skipped (a hole at the end); one syscall less per file otherwise.
  if (pos > 0 && (await out.stat()).size !== pos) await out.truncate(pos);
  const got = hasher.digest();
  if (pos !== size || !got.equals(key.hash)) {
    throw new ContentMismatch(
      'CATALOG',
      `the store's copy of ${shown} is damaged (expected ${size} B with BLAKE3 ${key.hash.toString('hex').slice(0, 16)}…, read ${pos} B with ${got.toString('hex').slice(0, 16)}…)`,
      { hint: 'nothing damaged was left at the destination; run `snap verify <root> --repair`, or restore this path from another snapshot (see `snap log`)' },
    );
  }
}

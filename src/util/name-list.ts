/**
 * A folder's names packed into one Buffer (u16 length, then the bytes, for each name), so that a
 * folder of a million entries is one allocation outside the JS heap instead of a million Buffer
 * objects on it: the scan workers list and sort a big folder this way and hand it to the main
 * thread, which sends it back a chunk at a time.
 */
import fs from 'node:fs';

/**
 * Every name in a folder, streamed: as sorted Buffers while there are at most `smallLimit` (and
 * `packed` is false), else as one packed, sorted name list, so a folder of a million names costs
 * one buffer outside the JS heap, not a million Buffers on it. `onName` sees each name as read.
 */
export function listFolderNames(
  dirPath: string | Buffer,
  smallLimit: number,
  packed: boolean,
  onName?: (name: Buffer) => void,
): { names: Buffer[] } | { packed: Buffer; count: number } {
  // Node's types omit it, but opendir honours encoding 'buffer' (names stay bytes); a Buffer
  // path is taken as bytes too.
  const dir = fs.opendirSync(dirPath, { encoding: 'buffer', bufferSize: 256 } as unknown as fs.OpenDirOptions);
  const small: Buffer[] = [];
  let big: NameListBuilder | undefined;
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      const name = d.name as unknown as Buffer;
      onName?.(name);
      if (!big && (packed || small.length >= smallLimit)) {
        big = new NameListBuilder();
        for (const n of small) big.add(n);
        small.length = 0;
      }
      if (big) big.add(name);
      else small.push(name);
    }
  } finally {
    dir.closeSync();
  }
  if (big) return { packed: big.sorted(), count: big.count };
  return { names: small.sort(Buffer.compare) };
}

/** Appends names to a growing packed buffer. */
export class NameListBuilder {
  private buf = Buffer.allocUnsafeSlow(64 * 1024);
  private used = 0;
  count = 0;

  add(name: Buffer): void {
    const need = this.used + 2 + name.length;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    this.buf.writeUInt16LE(name.length, this.used);
    name.copy(this.buf, this.used + 2);
    this.used = need;
    this.count++;
  }

  /** The names in byte order, packed into a buffer of their own (transferable to another thread). */
  sorted(): Buffer {
    const offs = new Uint32Array(this.count);
    for (let o = 0, i = 0; i < this.count; i++) {
      offs[i] = o;
      o += 2 + this.buf.readUInt16LE(o);
    }
    const b = this.buf;
    // Compares in place (native memcmp on two ranges of one buffer): no allocation per comparison.
    offs.sort((x, y) => b.compare(b, y + 2, y + 2 + b.readUInt16LE(y), x + 2, x + 2 + b.readUInt16LE(x)));
    const out = Buffer.allocUnsafeSlow(this.used);
    let o = 0;
    for (const start of offs) {
      const end = start + 2 + b.readUInt16LE(start);
      b.copy(out, o, start, end);
      o += end - start;
    }
    return out;
  }
}

/** The names of a packed list, as views into it (no copy). */
export function unpackNames(packed: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < packed.length; ) {
    const len = packed.readUInt16LE(o);
    out.push(packed.subarray(o + 2, o + 2 + len));
    o += 2 + len;
  }
  return out;
}

/** Byte offsets where each run of `per` names starts, plus the end: the chunks of a packed list. */
export function chunkOffsets(packed: Buffer, per: number): number[] {
  const offs: number[] = [];
  let i = 0;
  let o = 0;
  for (; o < packed.length; i++) {
    if (i % per === 0) offs.push(o);
    o += 2 + packed.readUInt16LE(o);
  }
  offs.push(o);
  return offs;
}

/** The name starting at byte offset `off` of a packed list, as a view. */
export function nameAt(packed: Buffer, off: number): Buffer {
  return packed.subarray(off + 2, off + 2 + packed.readUInt16LE(off));
}

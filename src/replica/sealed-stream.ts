/**
 * Segmented AEAD for objects of any size: the "AES-GCM-HKDF streaming" construction of Google
 * Tink (and of the IETF draft it follows), so that a large blob is encrypted and checked as it
 * streams, never held whole in memory.
 *
 *   object  = header || segment_0 || ... || segment_last
 *   header  = "LSE1" || salt (32 random bytes) || nonce prefix (7 random bytes)
 *   key     = HKDF-SHA256(purpose key, salt, info = binding)            (one key per object)
 *   segment = AES-256-GCM(key, nonce = prefix || uint32 BE index || last ? 1 : 0,
 *                         plaintext <= SEGMENT bytes, aad = binding)
 *
 * - A fresh random salt gives every object its own key, so the per-key nonces (prefix, index,
 *   flag) never repeat, however many objects one replica holds.
 * - `binding` names what the object is (a blob's name, a catalog's generation): an object moved
 *   or copied to another name is decrypted with another key and fails authentication.
 * - The last segment carries the flag 1 in its nonce: cutting the object at a segment boundary
 *   leaves a last segment sealed with flag 0, which fails authentication; so does reordering.
 * An empty plaintext is one empty, final segment (the header and a tag).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { SnapError } from '../errors.js';

const MAGIC = Buffer.from('LSE1');
const SALT = 32;
const PREFIX = 7;
export const HEADER_BYTES = MAGIC.length + SALT + PREFIX;
const TAG = 16;
/** Plaintext bytes per segment: large enough that the 16-byte tags cost nothing. */
export const SEGMENT = 1 << 20;

/** The object failed authentication: altered, truncated, swapped, replayed, or another key. */
export class AuthFailure extends SnapError {
  constructor(what: string) {
    super('IO', `${what} fails authentication (altered, truncated, swapped or replayed)`, {
      hint: 'the replica is damaged or tampered with: run `snap verify s3://…` and push again from a good store',
    });
  }
}

/** Stored size of an object of `plainSize` bytes. */
export function sealedSize(plainSize: number): number {
  const segments = Math.max(1, Math.ceil(plainSize / SEGMENT));
  return HEADER_BYTES + plainSize + segments * TAG;
}

function objectKey(purposeKey: Buffer, salt: Buffer, binding: string): Buffer {
  return Buffer.from(hkdfSync('sha256', purposeKey, salt, Buffer.from(binding), 32));
}

function nonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, PREFIX);
  n[11] = last ? 1 : 0;
  return n;
}

function sealSegment(key: Buffer, prefix: Buffer, index: number, last: boolean, aad: Buffer, plain: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce(prefix, index, last));
  c.setAAD(aad);
  const body = c.update(plain);
  c.final();
  return Buffer.concat([body, c.getAuthTag()]);
}

/** Seals one object, segment by segment. */
class Sealer {
  private readonly key: Buffer;
  private readonly prefix = randomBytes(PREFIX);
  private readonly salt = randomBytes(SALT);
  private readonly aad: Buffer;
  private index = 0;

  constructor(purposeKey: Buffer, binding: string) {
    this.key = objectKey(purposeKey, this.salt, binding);
    this.aad = Buffer.from(binding);
  }

  header(): Buffer {
    return Buffer.concat([MAGIC, this.salt, this.prefix]);
  }

  segment(plain: Buffer, last: boolean): Buffer {
    if (this.index > 0xffffffff) throw new SnapError('IO', 'object too large to encrypt (more than 2^32 segments)');
    return sealSegment(this.key, this.prefix, this.index++, last, this.aad, plain);
  }
}

/** The whole object from a buffer (objects small enough to be sent in one PUT). */
export function sealBuffer(purposeKey: Buffer, binding: string, plain: Buffer): Buffer {
  const s = new Sealer(purposeKey, binding);
  const parts = [s.header()];
  let off = 0;
  do {
    const end = Math.min(plain.length, off + SEGMENT);
    parts.push(s.segment(plain.subarray(off, end), end === plain.length));
    off = end;
  } while (off < plain.length);
  return Buffer.concat(parts);
}

/**
 * Collects bytes into fixed-size pieces; a piece is released only once a byte beyond it has
 * arrived, so the holder always knows whether the piece it passes on is the last one.
 */
class Segmenter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly piece: number) {}

  /** Every full piece known not to be the last. */
  push(chunk: Buffer): Buffer[] {
    this.parts.push(chunk);
    this.size += chunk.length;
    const out: Buffer[] = [];
    if (this.size <= this.piece) return out;
    let all = Buffer.concat(this.parts);
    while (all.length > this.piece) {
      out.push(all.subarray(0, this.piece));
      all = all.subarray(this.piece);
    }
    this.parts = [all];
    this.size = all.length;
    return out;
  }

  rest(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A Transform that seals what flows through it. */
export function sealStream(purposeKey: Buffer, binding: string): Transform {
  const s = new Sealer(purposeKey, binding);
  const seg = new Segmenter(SEGMENT);
  let started = false;
  const start = (t: Transform) => {
    if (!started) t.push(s.header());
    started = true;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      start(this);
      for (const p of seg.push(chunk)) this.push(s.segment(p, false));
      cb();
    },
    flush(cb: TransformCallback) {
      start(this);
      this.push(s.segment(seg.rest(), true));
      cb();
    },
  });
}

/**
 * A Transform that opens a sealed object and passes on its plaintext, segment by segment; it
 * fails with AuthFailure (naming `what`) on the first segment that does not authenticate, and
 * on an object cut short. Plaintext of a segment is released only after its tag checked out.
 */
export function openStream(purposeKey: Buffer, binding: string, what: string): Transform {
  const aad = Buffer.from(binding);
  const seg = new Segmenter(SEGMENT + TAG);
  let header = Buffer.alloc(0);
  let key: Buffer | undefined;
  let prefix: Buffer | undefined;
  let index = 0;
  const open = (sealed: Buffer, last: boolean): Buffer => {
    if (!key || !prefix || sealed.length < TAG) throw new AuthFailure(what);
    const d = createDecipheriv('aes-256-gcm', key, nonce(prefix, index++, last));
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plain = d.update(sealed.subarray(0, sealed.length - TAG));
    try {
      d.final();
    } catch (e) {
      if (e instanceof Error && /authenticate/i.test(e.message)) throw new AuthFailure(what);
      throw e;
    }
    return plain;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        if (!key) {
          header = Buffer.concat([header, chunk]);
          if (header.length < HEADER_BYTES) return cb();
          if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw new AuthFailure(what);
          key = objectKey(purposeKey, header.subarray(MAGIC.length, MAGIC.length + SALT), binding);
          prefix = Buffer.from(header.subarray(MAGIC.length + SALT, HEADER_BYTES));
          chunk = header.subarray(HEADER_BYTES);
        }
        for (const p of seg.push(chunk)) this.push(open(p, false));
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        this.push(open(seg.rest(), true));
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
  });
}

/** Open a whole small object held in memory (HEAD-sized things). */
export async function openBuffer(purposeKey: Buffer, binding: string, what: string, sealed: Buffer): Promise<Buffer> {
  const t = openStream(purposeKey, binding, what);
  const out: Buffer[] = [];
  t.on('data', (d: Buffer) => out.push(d));
  await new Promise<void>((resolve, reject) => {
    t.on('error', reject);
    t.on('end', resolve);
    t.end(sealed);
  });
  return Buffer.concat(out);
}

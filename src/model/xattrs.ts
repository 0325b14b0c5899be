/**
 * Extended attributes as recorded by `take --xattrs`: which names are recorded, the canonical
 * encoding of a file's or folder's set, and its digest. A set is part of an object's identity
 * (src/model/object-key.ts) and of a tree entry (src/ops/shared/tree-digest.ts); the catalog
 * keeps each distinct set once (`xattr_sets`, keyed by this digest).
 *
 * Encoding (canonical: one byte string per set): the attributes sorted by their names' bytes,
 * each as u32 BE name length | name (UTF-8) | u32 BE value length | value. The empty set encodes
 * as zero bytes and has the empty digest, so everything recorded without attributes keeps its
 * object names, tree digests and rows.
 *
 * The digest is SHA-256 (node:crypto): the model may not use the store's BLAKE3, and a set is
 * a few hundred bytes, so the choice costs nothing.
 */
import { createHash } from 'node:crypto';

export interface Xattr {
  name: string;
  value: Buffer;
}

/** The digest of the empty set (and the "no attributes" value of every key and entry). */
export const NO_XATTRS = Buffer.alloc(0);
export const XATTR_DIGEST_BYTES = 32;

/**
 * The attributes a take records: user data (`user.*`), POSIX ACLs, file capabilities, and
 * `trusted.*` when running as root (only root can read them). Never `security.selinux` and other
 * `security.*` labels: the policy assigns them where a file is created, so a restore must not
 * carry the old label along.
 */
export function isRecordedName(name: string, asRoot: boolean): boolean {
  return (
    name.startsWith('user.') ||
    name === 'system.posix_acl_access' ||
    name === 'system.posix_acl_default' ||
    name === 'security.capability' ||
    (asRoot && name.startsWith('trusted.'))
  );
}

function byNameBytes(a: Xattr, b: Xattr): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

/** The canonical encoding of a set (any order in, sorted out); empty for no attributes. */
export function encodeXattrs(set: readonly Xattr[]): Buffer {
  if (set.length === 0) return NO_XATTRS;
  const parts: Buffer[] = [];
  for (const a of [...set].sort(byNameBytes)) {
    const name = Buffer.from(a.name);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(name.length);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(a.value.length);
    parts.push(head, name, len, a.value);
  }
  return Buffer.concat(parts);
}

/** The set an encoding holds, sorted; undefined when the bytes are not a canonical encoding. */
export function decodeXattrs(buf: Buffer): Xattr[] | undefined {
  const out: Xattr[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 4 > buf.length) return undefined;
    const n = buf.readUInt32BE(o);
    if (o + 4 + n + 4 > buf.length) return undefined;
    const nameBytes = buf.subarray(o + 4, o + 4 + n);
    const v = buf.readUInt32BE(o + 4 + n);
    const start = o + 8 + n;
    if (start + v > buf.length) return undefined;
    const name = nameBytes.toString('utf8');
    if (!Buffer.from(name).equals(nameBytes) || name.length === 0) return undefined;
    out.push({ name, value: Buffer.from(buf.subarray(start, start + v)) });
    o = start + v;
  }
  return encodeXattrs(out).equals(buf) ? out : undefined;
}

/** The digest of an encoding: empty for the empty set, else SHA-256 of the encoding. */
export function xattrDigestOf(encoded: Buffer): Buffer {
  return encoded.length === 0 ? NO_XATTRS : createHash('sha256').update(encoded).digest();
}

/** A well-formed digest: empty or 32 bytes. */
export function isXattrDigest(d: unknown): d is Buffer {
  return Buffer.isBuffer(d) && (d.length === 0 || d.length === XATTR_DIGEST_BYTES);
}

/** The names whose presence or value differ between two sets, sorted ('+name', '-name', '~name'). */
export function xattrChanges(before: readonly Xattr[], after: readonly Xattr[]): string[] {
  const a = new Map(before.map((x) => [x.name, x.value]));
  const b = new Map(after.map((x) => [x.name, x.value]));
  const out: string[] = [];
  for (const name of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const va = a.get(name);
    const vb = b.get(name);
    if (va && !vb) out.push(`-${name}`);
    else if (!va && vb) out.push(`+${name}`);
    else if (!va!.equals(vb!)) out.push(`~${name}`);
  }
  return out;
}

/**
 * The extended-attribute model (src/model/xattrs.ts) and what it adds to names and digests: the
 * canonical encoding round-trips and does not depend on order; "no attributes" leaves object
 * names, keys, tree digests and quick-check extras exactly as they were before attributes
 * existed; a set changes each of them; a malformed digest is never an object name.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NO_XATTRS, decodeXattrs, encodeXattrs, isRecordedName, xattrChanges, xattrDigestOf, type Xattr } from '../../src/model/xattrs.js';
import { isObjectKeyInScheme, objectName, parseObjectName } from '../../src/store/layout.js';
import { objectKeyOf, type ObjectKey } from '../../src/model/object-key.js';
import { treeDigest } from '../../src/ops/shared/tree-digest.js';
import { Kind, type Entry } from '../../src/model/entry.js';
import { extraOf, extraParts } from '../../src/model/quick-check.js';

const KEY: ObjectKey = { hash: Buffer.alloc(32, 0xab), mode: 0o644, uid: 1000, gid: 100, mtimeUs: 1_700_000_000_000_000n };
const xattr = fc.record({
  name: fc.string({ minLength: 1, maxLength: 20 }).map((s) => `user.${s}`),
  value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
});
const uniqueSet = fc.uniqueArray(xattr, { selector: (a) => a.name, maxLength: 8 });

describe('extended-attribute sets', () => {
  it('encode canonically (any order, same bytes) and decode back to the sorted set', () => {
    fc.assert(
      fc.property(uniqueSet, (set: Xattr[]) => {
        const enc = encodeXattrs(set);
        expect(encodeXattrs([...set].reverse())).toEqual(enc);
        const back = decodeXattrs(enc)!;
        expect(back.map((a) => a.name).sort()).toEqual(set.map((a) => a.name).sort());
        expect(encodeXattrs(back)).toEqual(enc);
      }),
    );
  });

  it('the empty set encodes to nothing and has the empty digest; any other set a 32-byte digest', () => {
    expect(encodeXattrs([])).toEqual(NO_XATTRS);
    expect(xattrDigestOf(NO_XATTRS)).toEqual(NO_XATTRS);
    expect(xattrDigestOf(encodeXattrs([{ name: 'user.a', value: Buffer.alloc(0) }]))).toHaveLength(32);
  });

  it('refuses bytes that are not a canonical encoding', () => {
    const enc = encodeXattrs([
      { name: 'user.b', value: Buffer.from('2') },
      { name: 'user.a', value: Buffer.from('1') },
    ]);
    expect(decodeXattrs(enc.subarray(0, enc.length - 1))).toBeUndefined();
    const half = enc.length / 2;
    expect(decodeXattrs(Buffer.concat([enc.subarray(half), enc.subarray(0, half)]))).toBeUndefined(); // unsorted
  });

  it('records user.*, ACLs and capabilities, trusted.* only as root, never security labels', () => {
    for (const n of ['user.x', 'system.posix_acl_access', 'system.posix_acl_default', 'security.capability']) expect(isRecordedName(n, false), n).toBe(true);
    expect(isRecordedName('trusted.x', false)).toBe(false);
    expect(isRecordedName('trusted.x', true)).toBe(true);
    for (const n of ['security.selinux', 'security.ima', 'system.nfs4_acl', 'userx']) expect(isRecordedName(n, true), n).toBe(false);
  });

  it('names the changes between two sets', () => {
    const a = [{ name: 'user.a', value: Buffer.from('1') }, { name: 'user.b', value: Buffer.from('2') }];
    const b = [{ name: 'user.b', value: Buffer.from('3') }, { name: 'user.c', value: Buffer.from('4') }];
    expect(xattrChanges(a, b)).toEqual(['-user.a', '~user.b', '+user.c']);
  });
});

describe('no attributes changes nothing that existed before; a set changes everything it is part of', () => {
  const digest = xattrDigestOf(encodeXattrs([{ name: 'user.a', value: Buffer.from('1') }]));

  it('object names: unchanged without attributes, suffixed with the digest with them, and parsed back', () => {
    expect(objectName(KEY)).toBe(`${'ab'.repeat(32)}_644_1000_100_1700000000000000`);
    expect(objectName({ ...KEY, xattrs: NO_XATTRS })).toBe(objectName(KEY));
    const withX = { ...KEY, xattrs: digest };
    expect(objectName(withX, 2)).toBe(`${objectName(KEY)}_x${digest.toString('hex')}_r2`);
    expect(parseObjectName(objectName(withX, 2))).toEqual({ key: withX, replica: 2 });
    expect(parseObjectName(objectName(KEY))!.key.xattrs).toBeUndefined();
    expect(isObjectKeyInScheme(withX)).toBe(true);
    expect(isObjectKeyInScheme({ ...KEY, xattrs: Buffer.from('../../x') })).toBe(false);
    expect(parseObjectName(`${objectName(KEY)}_x${'0'.repeat(63)}`)).toBeUndefined();
  });

  it('keys: objectKeyOf leaves out an empty digest', () => {
    const meta = { mode: 0o644, uid: 1, gid: 2, mtimeNs: 5000n };
    expect(objectKeyOf(KEY.hash, { ...meta, xattrs: NO_XATTRS })).toEqual(objectKeyOf(KEY.hash, meta));
    expect(objectKeyOf(KEY.hash, { ...meta, xattrs: digest }).xattrs).toEqual(digest);
  });

  it('tree digests: an entry without attributes hashes as before (a fixed value); with them, differently', () => {
    const file: Entry = { name: Buffer.from('f'), kind: Kind.File, mode: 0o644, uid: 0, gid: 0, mtimeNs: 1n, size: 3, hash: Buffer.alloc(32, 7) };
    // The digest this entry had before attributes existed (linksnap-tree-v1): existing trees keep theirs.
    expect(treeDigest([{ entry: file }]).toString('hex')).toBe(treeDigest([{ entry: { ...file, xattrs: NO_XATTRS } }]).toString('hex'));
    expect(treeDigest([{ entry: file }]).toString('hex')).toBe('2ebc5960aacb2b9e06b26ccf20c34a385d9964e11a4681e71ce19fe6d532bd17');
    expect(treeDigest([{ entry: { ...file, xattrs: digest } }])).not.toEqual(treeDigest([{ entry: file }]));
    const dir: Entry = { name: Buffer.from('d'), kind: Kind.Dir, mode: 0o755, uid: 0, gid: 0, mtimeNs: 1n, size: 0, subtree: 1 };
    expect(treeDigest([{ entry: { ...dir, xattrs: digest }, childDigest: Buffer.alloc(32) }])).not.toEqual(treeDigest([{ entry: dir, childDigest: Buffer.alloc(32) }]));
  });

  it('quick-check extras: the hash alone without attributes, the hash then the digest with them', () => {
    const hash = Buffer.alloc(32, 9);
    expect(extraOf(hash, undefined)).toEqual(hash);
    expect(extraOf(hash, NO_XATTRS)).toEqual(hash);
    expect(extraParts(extraOf(hash, digest))).toEqual({ id: hash, xattrs: digest });
    expect(extraParts(hash)).toEqual({ id: hash });
  });
});

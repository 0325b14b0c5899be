/**
 * The packed quick-check records (src/model/quick-check.ts): what is written reads back exactly,
 * names are bytes, and a damaged buffer yields the intact records before the damage, never a
 * misread one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Kind } from '../../src/model/entry.js';
import { encodeRecord, knownHash, readRecord, recordExtra, recordHolds, recordName, recordOffsets, recordsByName, type QuickCheckRecord } from '../../src/model/quick-check.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const recordArb: fc.Arbitrary<QuickCheckRecord> = fc.record({
  kind: fc.constantFrom(Kind.File, Kind.Dir, Kind.Symlink),
  name: fc.uint8Array({ minLength: 1, maxLength: 255 }).map((a) => Buffer.from(a)),
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  gid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  dev: u64,
  ino: u64,
  size: u64,
  mtimeNs: i64,
  ctimeNs: i64,
  extra: fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a)),
});

describe('quick-check records', () => {
  it('round-trip exactly, one after another', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 20 }), (recs) => {
        const buf = Buffer.concat(recs.map(encodeRecord));
        const offs = recordOffsets(buf);
        expect(offs.length).toBe(recs.length + 1);
        expect(offs.at(-1)).toBe(buf.length);
        recs.forEach((r, i) => {
          const back = readRecord(buf, offs[i]!);
          expect({ ...back, name: [...back.name], extra: [...back.extra] }).toEqual({ ...r, name: [...r.name], extra: [...r.extra] });
          expect(recordName(buf, offs[i]!).equals(r.name)).toBe(true);
          expect(recordExtra(buf, offs[i]!).equals(r.extra)).toBe(true);
          expect(recordHolds(buf, offs[i]!, r.kind, r)).toBe(true);
          expect(recordHolds(buf, offs[i]!, r.kind === Kind.File ? Kind.Symlink : Kind.File, r)).toBe(false);
          for (const field of ['dev', 'ino', 'size', 'mtimeNs', 'ctimeNs'] as const) {
            expect(recordHolds(buf, offs[i]!, r.kind, { ...r, [field]: r[field] === 0n ? 1n : r[field] - 1n })).toBe(false);
          }
        });
      }),
    );
  });

  it('a truncated buffer yields only the records before the cut', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { minLength: 1, maxLength: 8 }), fc.nat(), (recs, cutAt) => {
        const parts = recs.map(encodeRecord);
        const buf = Buffer.concat(parts);
        const cut = cutAt % buf.length;
        const offs = recordOffsets(buf.subarray(0, cut));
        let whole = 0;
        for (let end = parts[0]!.length; whole < parts.length && end <= cut; end += parts[++whole]?.length ?? 0);
        expect(offs.length - 1).toBe(whole);
      }),
    );
  });

  it('looks records up by name, non-UTF-8 names included, and vouches only for a holding file record', () => {
    const name = Buffer.from([0x66, 0xff, 0x0a]);
    const r: QuickCheckRecord = { kind: Kind.File, name, mode: 0o644, uid: 1, gid: 2, dev: 3n, ino: 4n, size: 5n, mtimeNs: -6n, ctimeNs: 7n, extra: Buffer.alloc(32, 9) };
    const buf = encodeRecord(r);
    const byName = recordsByName(buf);
    expect([...byName.keys()]).toEqual([name.toString('latin1')]);
    expect(knownHash(buf, byName, name, r)).toEqual(r.extra);
    expect(knownHash(buf, byName, name, { ...r, ctimeNs: 8n })).toBeUndefined();
    expect(knownHash(buf, byName, Buffer.from('other'), r)).toBeUndefined();
    const dir = encodeRecord({ ...r, kind: Kind.Dir });
    expect(knownHash(dir, recordsByName(dir), name, r)).toBeUndefined();
  });
});

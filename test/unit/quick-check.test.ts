/**
 * The packed quick-check records (src/model/quick-check.ts): what is written reads back exactly,
 * names are bytes, and a damaged buffer yields the intact records before the damage, never a
 * misread one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Kind } from '../../src/model/entry.js';
import { decodeRecords, encodeRecord, readRecord, recordMatchesStat, recordName, recordOffsets, type DirRecord } from '../../src/model/quick-check.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const recordArb: fc.Arbitrary<DirRecord> = fc.record({
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

describe('dir-cache records', () => {
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
          expect(recordMatchesStat(buf, offs[i]!, r)).toBe(true);
          expect(recordMatchesStat(buf, offs[i]!, { ...r, ctimeNs: r.ctimeNs ^ 1n })).toBe(false);
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

  it('decodes by name, non-UTF-8 names included', () => {
    const name = Buffer.from([0x66, 0xff, 0x0a]);
    const r: DirRecord = { kind: Kind.File, name, mode: 0o644, uid: 1, gid: 2, dev: 3n, ino: 4n, size: 5n, mtimeNs: -6n, ctimeNs: 7n, extra: Buffer.alloc(32, 9) };
    const m = decodeRecords(encodeRecord(r));
    expect([...m.keys()]).toEqual([name.toString('latin1')]);
    expect(m.get(name.toString('latin1'))!.mtimeNs).toBe(-6n);
  });
});

/**
 * The shrink guard's rule (src/ops/take/shrink-guard.ts), directly: when a take's source is
 * refused against the last snapshot, and what the one-line refusal says. The same rule through
 * the real CLI: test/take/shrink-cli.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeShrink, shrinkMessage, type ShrinkBaseline } from '../../src/ops/take/shrink-guard.js';
import { referenceRefuses } from '../helpers/shrink-reference.js';

const last = (files: number, bytes: number, maxShrinkPercent = 50): ShrinkBaseline => ({ previous: { name: '2026-01-20_03.00.00', files, bytes }, maxShrinkPercent });
const refused = (b: ShrinkBaseline, files: number, bytes: number) => judgeShrink(b, { files, bytes }) !== undefined;

describe('shrink guard: the rule', () => {
  it('never refuses the first take, even of an empty source', () => {
    expect(refused({ maxShrinkPercent: 50 }, 0, 0)).toBe(false);
    expect(refused({ maxShrinkPercent: 0 }, 0, 0)).toBe(false);
  });

  it('refuses an empty source after a snapshot with files', () => {
    expect(judgeShrink(last(10, 1000), { files: 0, bytes: 0 })).toEqual({
      previous: { name: '2026-01-20_03.00.00', files: 10, bytes: 1000 },
      now: { files: 0, bytes: 0 },
      lostFilesPercent: 100,
      lostBytesPercent: 100,
      maxShrinkPercent: 50,
    });
    expect(refused(last(1, 0), 0, 0)).toBe(true); // one empty file, gone
  });

  it('refuses a loss of more than take.max-shrink of the files or of the bytes, not of exactly that much', () => {
    expect(refused(last(10, 1000), 5, 1000)).toBe(false); // 50 % of the files: at the limit
    expect(refused(last(10, 1000), 4, 1000)).toBe(true); // 60 % of the files
    expect(refused(last(10, 1000), 10, 400)).toBe(true); // 60 % of the bytes, every file still there
    expect(refused(last(10, 1000), 10, 500)).toBe(false);
    expect(refused(last(10, 1000, 80), 4, 400)).toBe(false); // 60 % lost, limit 80 %
    expect(refused(last(10, 1000, 0), 9, 1000)).toBe(true); // 0: any loss refuses
    expect(refused(last(10, 1000, 0), 10, 1000)).toBe(false);
  });

  it('never refuses a source that grew, or after an empty snapshot (an intentionally empty folder)', () => {
    expect(refused(last(10, 1000), 1000, 10 ** 9)).toBe(false);
    expect(refused(last(0, 0), 0, 0)).toBe(false);
    expect(refused(last(0, 0, 0), 0, 0)).toBe(false);
  });

  it('take.max-shrink=100 never refuses, not even an empty source', () => {
    expect(refused(last(10, 1000, 100), 0, 0)).toBe(false);
  });

  it('matches the rule as stated (test/helpers/shrink-reference.ts), over random counts and limits', () => {
    const small = fc.oneof(fc.nat(12), fc.nat(1000)); // small counts hit the exact limits often
    fc.assert(
      fc.property(small, fc.nat(10 ** 6), small, fc.nat(10 ** 6), fc.integer({ min: 0, max: 100 }), (pf, pb, nf, nb, max) => {
        expect(refused(last(pf, pb, max), nf, nb)).toBe(referenceRefuses({ files: pf, bytes: pb }, { files: nf, bytes: nb }, max));
        // An empty source after a snapshot with files is refused unless the guard is off.
        if (pf > 0 && nf === 0) expect(refused(last(pf, pb, max), 0, 0)).toBe(max < 100);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('shrink guard: the refusal', () => {
  const where = { root: '/backups/music', source: '/mnt/music' };

  it('says what was seen, by name, and both overrides, on one line', () => {
    const empty = shrinkMessage(judgeShrink(last(1234, 5_000_000), { files: 0, bytes: 0 })!, where);
    expect(empty).toBe(
      'the source /mnt/music is empty (no files), but the last snapshot 2026-01-20_03.00.00 had 1,234 files (5,000,000 bytes); nothing was stored. ' +
        'Check that it is mounted and complete; to take it anyway: snap take /backups/music --allow-shrink (this run), ' +
        'or snap config /backups/music take.max-shrink=<percent> (100: never refuse)',
    );
    const shrunk = shrinkMessage(judgeShrink(last(3, 300), { files: 1, bytes: 250 })!, where);
    expect(shrunk).toMatch(/^the source \/mnt\/music shrank to 1 file \(250 bytes\) from 3 files \(300 bytes\) in the last snapshot 2026-01-20_03\.00\.00 \(66\.7% of the files and 16\.7% of the bytes gone; take\.max-shrink is 50%\); nothing was stored\./);
    expect(shrunk).toMatch(/--allow-shrink/);
    expect(`${empty}${shrunk}`).not.toMatch(/\n/);
  });

  it('never shows a loss just over the limit as equal to it', () => {
    const s = judgeShrink(last(100_000, 1, 50), { files: 49_999, bytes: 1 })!; // 50.001 %
    expect(shrinkMessage(s, where)).toMatch(/50\.1% of the files/);
  });
});

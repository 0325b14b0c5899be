/**
 * Rotation never removes the newest snapshot that holds any files while every newer one is
 * empty (src/ops/retention/policy.ts): an unmounted or wiped source taken with --allow-shrink,
 * night after night, must not rotate the real history away. Through real takes and the CLI:
 * test/take/shrink-cli.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRetention, showReason, type PolicySnapshot, type RetentionPlan, type RetentionPolicy } from '../../src/ops/retention/policy.js';

const RUNS = Number(process.env.LINKSNAP_PROPERTY_RUNS ?? 300);

/** Snapshots one hour apart, oldest first, with these file counts. */
function history(files: readonly number[], pinned: readonly boolean[] = []): PolicySnapshot[] {
  return files.map((n, i) => ({ name: `s${String(i).padStart(3, '0')}`, takenNs: BigInt(1_767_225_600_000 + i * 3_600_000) * 1_000_000n, pinned: pinned[i] ?? false, files: n }));
}

const names = (p: RetentionPlan) => p.keep.map((k) => k.name);

describe('rotation keeps the newest snapshot with files', () => {
  it('keeps it, with its reason, when every newer snapshot is empty', () => {
    const p = planRetention(history([5, 7, 0, 0, 0]), { last: 2 });
    expect(p.remove).toEqual(['s000', 's002']);
    expect(p.keep).toEqual([
      { name: 's001', reasons: [{ rule: 'newest-with-files' }] },
      { name: 's003', reasons: [{ rule: 'last', period: 's003', n: 2 }] },
      { name: 's004', reasons: [{ rule: 'last', period: 's004', n: 1 }, { rule: 'newest' }] },
    ]);
    expect(showReason({ rule: 'newest-with-files' })).toBe('newest with files (newer ones are empty)');
  });

  it('adds its reason when a rule keeps it anyway', () => {
    expect(planRetention(history([5, 0]), { last: 2 }).keep[0]).toEqual({ name: 's000', reasons: [{ rule: 'last', period: 's000', n: 2 }, { rule: 'newest-with-files' }] });
  });

  it('changes nothing when the newest snapshot has files, when none has, or when file counts are unknown', () => {
    const plain = (files: number[]) => planRetention(history(files).map(({ files: _f, ...s }) => s), { last: 1 });
    for (const files of [[5, 0, 3], [0, 0, 0], [4, 4, 4]]) expect(planRetention(history(files), { last: 1 })).toEqual(plain(files));
    expect(names(planRetention(history([0, 0, 0]), { last: 1 }))).toEqual(['s002']);
  });

  it('property: the newest non-empty snapshot survives whenever all newer ones are empty; otherwise the plan is the plain policy', () => {
    const policyArb: fc.Arbitrary<RetentionPolicy> = fc.oneof(
      fc.integer({ min: 1, max: 6 }).map((n) => ({ last: n })),
      fc.record({ last: fc.integer({ min: 1, max: 4 }), hourly: fc.integer({ min: 1, max: 3 }), daily: fc.integer({ min: 1, max: 2 }) }, { requiredKeys: [] }),
    );
    // Mostly empty snapshots, so that runs of empty ones at the newest end are common.
    const filesArb = fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 1000 }) }), { maxLength: 25 });
    const pinsArb = fc.array(fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), { maxLength: 25 });
    fc.assert(
      fc.property(filesArb, pinsArb, policyArb, (files, pins, policy) => {
        const snaps = history(files, pins);
        const plan = planRetention(snaps, policy);
        const plain = planRetention(snaps.map(({ files: _f, ...s }) => s), policy);
        const newestWithFiles = [...snaps].reverse().find((s) => s.files! > 0);
        const protectedOne = newestWithFiles && newestWithFiles !== snaps.at(-1) ? newestWithFiles.name : undefined;
        if (!protectedOne) {
          expect(plan).toEqual(plain);
          return;
        }
        expect(names(plan)).toContain(protectedOne);
        expect(plan.remove).toEqual(plain.remove.filter((n) => n !== protectedOne));
        const expectedKeep = snaps
          .filter((s) => s.name === protectedOne || names(plain).includes(s.name))
          .map((s) => ({
            name: s.name,
            reasons: [...(plain.keep.find((k) => k.name === s.name)?.reasons ?? []), ...(s.name === protectedOne ? [{ rule: 'newest-with-files' as const }] : [])],
          }));
        expect(plan.keep).toEqual(expectedKeep);
      }),
      { numRuns: RUNS },
    );
  });
});

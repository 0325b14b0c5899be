import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isoWeek, planRetention, periodOf, showReason, type PolicySnapshot, type RetentionPolicy } from '../../src/ops/retention/policy.js';
import { snapshotNameFor } from '../../src/store/layout.js';
import { SnapError } from '../../src/errors.js';
import { referenceKeep } from '../helpers/retention-reference.js';

const RUNS = Number(process.env.LINKSNAP_PROPERTY_RUNS ?? 300);

/** A snapshot at a local time, named as take names it. */
function at(local: string, pinned = false): PolicySnapshot {
  const d = new Date(local);
  return { name: snapshotNameFor(d), takenNs: BigInt(d.getTime()) * 1_000_000n, pinned };
}

const kept = (snaps: PolicySnapshot[], p: RetentionPolicy) => planRetention(snaps, p).keep.map((k) => k.name);

let savedTz: string | undefined;
beforeEach(() => {
  savedTz = process.env.TZ;
});
afterEach(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('ISO weeks', () => {
  it('puts the days around new year in the right week-year', () => {
    expect(isoWeek(2020, 12, 31)).toBe('2020-W53');
    expect(isoWeek(2021, 1, 3)).toBe('2020-W53');
    expect(isoWeek(2021, 1, 4)).toBe('2021-W01');
    expect(isoWeek(2024, 12, 30)).toBe('2025-W01');
    expect(isoWeek(2026, 1, 1)).toBe('2026-W01'); // a Thursday
    expect(isoWeek(2027, 1, 3)).toBe('2026-W53'); // a Sunday
    expect(isoWeek(2027, 1, 4)).toBe('2027-W01');
  });

  it('periods follow local time', () => {
    process.env.TZ = 'America/New_York';
    const d = new Date('2026-03-01T03:30:00Z'); // 22:30 on Feb 28 in New York
    expect(periodOf('daily', d)).toBe('2026-02-28');
    expect(periodOf('monthly', d)).toBe('2026-02');
    expect(periodOf('hourly', d)).toBe('2026-02-28 22h');
    expect(periodOf('yearly', d)).toBe('2026');
  });
});

describe('planRetention: worked examples (docs/retention.md)', () => {
  // Nightly at 03:00 from Thu 1 Jan 2026 to Tue 20 Jan, plus one at 15:00 on the 20th.
  const nightly = () => [...Array.from({ length: 20 }, (_, i) => at(`2026-01-${String(i + 1).padStart(2, '0')}T03:00:00`)), at('2026-01-20T15:00:00')];

  it('keep-last 3 keeps the three newest', () => {
    expect(kept(nightly(), { last: 3 })).toEqual(['2026-01-19_03.00.00', '2026-01-20_03.00.00', '2026-01-20_15.00.00']);
  });

  it('keep-daily 3 keeps the newest of each of the last three days', () => {
    expect(kept(nightly(), { daily: 3 })).toEqual(['2026-01-18_03.00.00', '2026-01-19_03.00.00', '2026-01-20_15.00.00']);
  });

  it('keep-daily 3 keep-weekly 3: rules are independent, a snapshot kept by any stays', () => {
    const plan = planRetention(nightly(), { daily: 3, weekly: 3 });
    // Weeks: W04 (Mon 19 Jan...) -> 20th 15:00; W03 (12-18 Jan) -> 18th; W02 (5-11 Jan) -> 11th.
    expect(plan.keep.map((k) => k.name)).toEqual(['2026-01-11_03.00.00', '2026-01-18_03.00.00', '2026-01-19_03.00.00', '2026-01-20_15.00.00']);
    expect(plan.keep.map((k) => k.reasons.map(showReason).join(', '))).toEqual([
      'weekly 2026-W02 (#3)',
      'daily 2026-01-18 (#3), weekly 2026-W03 (#2)',
      'daily 2026-01-19 (#2)',
      'daily 2026-01-20 (#1), weekly 2026-W04 (#1), newest',
    ]);
    expect(plan.remove).toHaveLength(21 - 4);
    expect(plan.remove).toContain('2026-01-20_03.00.00');
  });

  it('periods without a snapshot do not count: keep-monthly 3 reaches back past gaps', () => {
    const snaps = [at('2025-06-10T03:00:00'), at('2025-09-01T03:00:00'), at('2025-09-30T03:00:00'), at('2026-01-05T03:00:00')];
    expect(kept(snaps, { monthly: 3 })).toEqual(['2025-06-10_03.00.00', '2025-09-30_03.00.00', '2026-01-05_03.00.00']);
  });

  it('pinned snapshots and the newest always stay', () => {
    const snaps = nightly();
    snaps[0]!.pinned = true;
    const plan = planRetention(snaps, { last: 1 });
    expect(plan.keep).toEqual([
      { name: '2026-01-01_03.00.00', reasons: [{ rule: 'pinned' }] },
      { name: '2026-01-20_15.00.00', reasons: [{ rule: 'last', period: '2026-01-20_15.00.00', n: 1 }, { rule: 'newest' }] },
    ]);
    // Even an empty policy keeps the newest.
    expect(planRetention(snaps, {}).keep.map((k) => k.name)).toEqual(['2026-01-01_03.00.00', '2026-01-20_15.00.00']);
  });

  it('orders by taken_ns, not by name (names can repeat an hour at a DST fall-back)', () => {
    const a = { name: '2026-10-25_02.30.00', takenNs: 1_000n, pinned: false };
    const b = { name: '2026-10-25_02.10.00', takenNs: 2_000n, pinned: false }; // later, smaller name
    expect(kept([a, b], { last: 1 })).toEqual(['2026-10-25_02.10.00']);
  });

  it('refuses a rule that is not a positive integer', () => {
    expect(() => planRetention([], { daily: 0 })).toThrow(SnapError);
    expect(() => planRetention([], { last: 1.5 })).toThrow(/--keep-last must be a positive integer/);
  });
});

describe('planRetention equals the reference implementation', () => {
  const policyArb = fc.record(
    {
      last: fc.integer({ min: 1, max: 6 }),
      hourly: fc.integer({ min: 1, max: 6 }),
      daily: fc.integer({ min: 1, max: 8 }),
      weekly: fc.integer({ min: 1, max: 5 }),
      monthly: fc.integer({ min: 1, max: 6 }),
      yearly: fc.integer({ min: 1, max: 3 }),
    },
    { requiredKeys: [] },
  );
  // Gaps from a second to two months, so every period kind has repeats and holes.
  const gapArb = fc.oneof(fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 3600, max: 3 * 86400 }), fc.integer({ min: 86400, max: 60 * 86400 }));
  const historyArb = fc.record({
    start: fc.integer({ min: Date.UTC(2019, 0, 1) / 1000, max: Date.UTC(2030, 0, 1) / 1000 }),
    gaps: fc.array(gapArb, { maxLength: 40 }),
    pins: fc.array(fc.nat(), { maxLength: 3 }),
  });

  for (const tz of ['UTC', 'Europe/Berlin', 'America/Sao_Paulo', 'Australia/Lord_Howe']) {
    it(`in ${tz}`, () => {
      process.env.TZ = tz;
      fc.assert(
        fc.property(historyArb, policyArb, ({ start, gaps, pins }, policy) => {
          let t = start;
          const snaps: PolicySnapshot[] = [start, ...gaps.map((g) => (t += g))].map((sec, i) => ({
            name: `s${i}`,
            takenNs: BigInt(sec) * 1_000_000_000n,
            pinned: false,
          }));
          for (const p of pins) if (snaps.length) snaps[p % snaps.length]!.pinned = true;
          const plan = planRetention(snaps, policy);
          const want = referenceKeep(snaps, policy);
          expect(new Set(plan.keep.map((k) => k.name))).toEqual(want);
          expect(plan.remove.length + plan.keep.length).toBe(snaps.length);
          // Both lists are oldest first, every survivor has a reason.
          expect(plan.keep.every((k) => k.reasons.length > 0)).toBe(true);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

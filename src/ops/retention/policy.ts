/**
 * The retention policy engine: a pure function from (snapshots, policy) to what stays and why.
 * No I/O, so it is tested directly against a straightforward reference implementation
 * (test/retention/policy.test.ts) and reused by `snap prune` and by the rotation after `snap take`.
 *
 * Semantics are restic's (docs/retention.md): every rule works on its own, newest snapshot
 * first. `last N` keeps the newest N snapshots. `daily N` (and hourly, weekly, monthly, yearly)
 * keeps the newest snapshot of each of the newest N distinct days that have a snapshot. A
 * snapshot kept by any rule stays; pinned snapshots and the newest snapshot always stay, and so
 * does the newest snapshot that holds any files when newer ones are all empty (an unmounted or
 * wiped source taken with --allow-shrink must not rotate the real history away).
 * Periods are local time (snapshot names are local time); weeks are ISO 8601 (Monday first,
 * week 1 holds the year's first Thursday). Time comes from the catalog's `taken_ns`.
 */
import { SnapError } from '../../errors.js';

export const RULES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type Rule = (typeof RULES)[number];

/** How many periods each rule keeps; a missing rule keeps nothing. */
export type RetentionPolicy = Partial<Record<Rule, number>>;

/** What `snap take` applies when no policy is saved: the seed script's 16 rotations. */
export const DEFAULT_POLICY: Readonly<RetentionPolicy> = Object.freeze({ last: 16 });

export interface PolicySnapshot {
  name: string;
  /** Creation time from the catalog (ns since the epoch); orders the snapshots. */
  takenNs: bigint;
  pinned: boolean;
  /** Regular files in the snapshot; unknown counts as some (the snapshot is not empty). */
  files?: number;
}

export type KeepReason =
  /** Kept by a rule: the period it represents and its rank (1 = newest period). */
  | { rule: Rule; period: string; n: number }
  | { rule: 'pinned' }
  /** The newest complete snapshot is never removed, whatever the policy. */
  | { rule: 'newest' }
  /** Every newer snapshot is empty: this is the newest that holds any files, never removed. */
  | { rule: 'newest-with-files' };

export interface RetentionPlan {
  /** Survivors, oldest first, each with every reason it stays. */
  keep: { name: string; reasons: KeepReason[] }[];
  /** Snapshots the policy removes, oldest first. */
  remove: string[];
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The ISO 8601 week of a calendar date, as `GGGG-Www` (e.g. 2021-01-03 is in 2020-W53). */
export function isoWeek(year: number, month: number, day: number): string {
  const date = new Date(Date.UTC(year, month - 1, day));
  const weekday = (date.getUTCDay() + 6) % 7; // Monday 0 ... Sunday 6
  // The week belongs to the year of its Thursday.
  const thursday = new Date(date.getTime() + (3 - weekday) * 86_400_000);
  const isoYear = thursday.getUTCFullYear();
  const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * 86_400_000)) + 1;
  return `${pad(isoYear, 4)}-W${pad(week)}`;
}

/** The calendar period a moment falls in, in local time; equal strings mean the same period. */
export function periodOf(rule: Exclude<Rule, 'last'>, d: Date): string {
  const y = pad(d.getFullYear(), 4);
  const m = pad(d.getMonth() + 1);
  const day = pad(d.getDate());
  switch (rule) {
    case 'hourly':
      return `${y}-${m}-${day} ${pad(d.getHours())}h`;
    case 'daily':
      return `${y}-${m}-${day}`;
    case 'weekly':
      return isoWeek(d.getFullYear(), d.getMonth() + 1, d.getDate());
    case 'monthly':
      return `${y}-${m}`;
    case 'yearly':
      return y;
  }
}

export function dateOfNs(ns: bigint): Date {
  // Floor division to ms, also before 1970.
  const ms = ns / 1_000_000n - (ns < 0n && ns % 1_000_000n !== 0n ? 1n : 0n);
  return new Date(Number(ms));
}

export function isEmptyPolicy(p: RetentionPolicy): boolean {
  return RULES.every((r) => !p[r]);
}

/** `keep-last 3, keep-daily 7` (or `nothing` for an empty policy). */
export function describePolicy(p: RetentionPolicy): string {
  const parts = RULES.filter((r) => p[r]).map((r) => `keep-${r} ${p[r]}`);
  return parts.length ? parts.join(', ') : 'nothing';
}

/** Throws a usage error unless every rule present is a positive integer. */
export function checkPolicy(p: RetentionPolicy): void {
  for (const r of RULES) {
    const n = p[r];
    if (n === undefined) continue;
    if (!Number.isSafeInteger(n) || n < 1) throw new SnapError('USAGE', `--keep-${r} must be a positive integer, got ${n}`);
  }
}

/**
 * Decide which snapshots a policy keeps. Input in any order; ties in taken_ns are broken by
 * input position (later = newer), as the catalog lists snapshots in creation order.
 */
export function planRetention(snapshots: readonly PolicySnapshot[], policy: RetentionPolicy): RetentionPlan {
  checkPolicy(policy);
  const newestFirst = snapshots
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (a.s.takenNs === b.s.takenNs ? b.i - a.i : a.s.takenNs < b.s.takenNs ? 1 : -1))
    .map(({ s }) => s);
  const reasons = new Map<string, KeepReason[]>(snapshots.map((s) => [s.name, []]));
  const dates = new Map(newestFirst.map((s) => [s.name, dateOfNs(s.takenNs)]));

  for (const rule of RULES) {
    const count = policy[rule] ?? 0;
    if (count === 0) continue;
    // The newest snapshot of each distinct period, for the newest `count` periods.
    const seen = new Set<string>();
    for (const s of newestFirst) {
      const period = rule === 'last' ? s.name : periodOf(rule, dates.get(s.name)!);
      if (seen.has(period)) continue;
      if (seen.size === count) break;
      seen.add(period);
      reasons.get(s.name)!.push({ rule, period, n: seen.size });
    }
  }
  for (const s of snapshots) if (s.pinned) reasons.get(s.name)!.push({ rule: 'pinned' });
  if (newestFirst.length > 0) reasons.get(newestFirst[0]!.name)!.push({ rule: 'newest' });
  // Every snapshot newer than the newest with files is empty; when it is the newest itself,
  // 'newest' already keeps it and the plan is the plain policy's.
  const withFiles = newestFirst.find((s) => s.files === undefined || s.files > 0);
  if (withFiles && withFiles !== newestFirst[0]) reasons.get(withFiles.name)!.push({ rule: 'newest-with-files' });

  const plan: RetentionPlan = { keep: [], remove: [] };
  for (const s of [...newestFirst].reverse()) {
    const why = reasons.get(s.name)!;
    if (why.length > 0) plan.keep.push({ name: s.name, reasons: why });
    else plan.remove.push(s.name);
  }
  return plan;
}

/** `daily 2026-11-27 (#1)`, `pinned`, `newest`, `newest with files (...)`: one reason, for human output. */
export function showReason(r: KeepReason): string {
  if (r.rule === 'pinned' || r.rule === 'newest') return r.rule;
  if (r.rule === 'newest-with-files') return 'newest with files (newer ones are empty)';
  return r.rule === 'last' ? `last (#${r.n})` : `${r.rule} ${r.period} (#${r.n})`;
}

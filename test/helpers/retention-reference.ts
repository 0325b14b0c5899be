/**
 * A deliberately plain reference implementation of the retention policy (restic's algorithm,
 * written independently of src/ops/retention/policy.ts): walk the snapshots newest first; for each
 * rule remember the last period kept and how many are left; keep a snapshot whose period
 * differs from the last one kept while some are left. Periods come from the seed-format name of
 * the local time (YYYY-MM-DD_HH...), weeks are identified by their Monday.
 */
import { snapshotNameFor } from '../../src/store/layout.js';

export type RefPolicy = { last?: number; hourly?: number; daily?: number; weekly?: number; monthly?: number; yearly?: number };
export interface RefSnapshot {
  name: string;
  takenNs: bigint;
  pinned: boolean;
  /** Regular files it holds; unknown counts as some. */
  files?: number;
}

function mondayOf(d: Date): string {
  const back = (d.getDay() + 6) % 7; // days since Monday
  const m = new Date(d.getFullYear(), d.getMonth(), d.getDate() - back, 12); // noon: DST-proof
  return snapshotNameFor(m).slice(0, 10);
}

function keyOf(rule: keyof RefPolicy, s: RefSnapshot): string {
  const d = new Date(Number(s.takenNs / 1_000_000n));
  const name = snapshotNameFor(d); // YYYY-MM-DD_HH.MM.SS
  switch (rule) {
    case 'last':
      return s.name;
    case 'hourly':
      return name.slice(0, 13);
    case 'daily':
      return name.slice(0, 10);
    case 'weekly':
      return mondayOf(d);
    case 'monthly':
      return name.slice(0, 7);
    case 'yearly':
      return name.slice(0, 4);
  }
}

/** The names the policy keeps (pinned, the newest, and the newest holding files included). */
export function referenceKeep(snapshots: readonly RefSnapshot[], policy: RefPolicy): Set<string> {
  const newestFirst = [...snapshots].sort((a, b) => (a.takenNs < b.takenNs ? 1 : a.takenNs > b.takenNs ? -1 : 0));
  const keep = new Set<string>();
  if (newestFirst.length > 0) keep.add(newestFirst[0]!.name);
  // However many empty snapshots came after it, the newest one with files stays.
  for (const s of newestFirst) {
    if (s.files === undefined || s.files > 0) {
      keep.add(s.name);
      break;
    }
  }
  for (const s of snapshots) if (s.pinned) keep.add(s.name);
  const rules = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
  const buckets = rules.filter((r) => (policy[r] ?? 0) > 0).map((r) => ({ rule: r, left: policy[r]!, last: undefined as string | undefined }));
  for (const s of newestFirst) {
    for (const b of buckets) {
      if (b.left === 0) continue;
      const k = keyOf(b.rule, s);
      if (k !== b.last) {
        keep.add(s.name);
        b.last = k;
        b.left--;
      }
    }
  }
  return keep;
}

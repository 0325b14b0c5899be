/**
 * `snap status`: is this root healthy? The newest snapshot and its age, the outcome of the last
 * take (ok, warnings, failed with its one-line error; recorded by take.ts, failed runs too), the
 * store's size, and the last verify (its tier, what it found). Unhealthy when there is no
 * snapshot, the newest is older than `maxAgeMs`, the last take failed, or the last verify found
 * damage it did not repair. Read-only: no lock, no writes (docs/operations.md, "Health status").
 */
import { openRoot, resolveRoot } from '../shared/root.js';
import { lastRun, type StoredRun } from '../../catalog/run-queries.js';
import { storeTotals } from '../../catalog/history-queries.js';
import { durationKind } from '../shared/settings.js';
import { SnapError, isSnapError } from '../../errors.js';
import path from 'node:path';

export interface StatusOptions {
  /** The newest snapshot may be at most this old (ms). */
  maxAgeMs?: number;
  /** The clock (tests inject one). */
  now?: () => Date;
}

export type ProblemKind = 'no-snapshot' | 'too-old' | 'take-failed' | 'verify-damage';

export interface StatusProblem {
  kind: ProblemKind;
  /** One line saying why. */
  message: string;
}

export interface StatusRun {
  /** take: ok, warnings, skipped (--skip-unchanged: nothing changed), failed; verify: clean, damage. */
  outcome: string;
  startedAt: string;
  finishedAt: string;
  snapshot?: string;
  warnings: number;
  /** A failed take: its error code (src/errors.ts) and one-line message; a take's post hook: its warning. */
  errorCode?: string;
  error?: string;
  tier?: string;
  snapshots?: number;
  damage?: number;
}

function confirmedSince(lastTake: StatusRun | undefined, now: Date, maxAgeMs: number): boolean {
  return lastTake?.outcome === 'skipped' && now.getTime() - Date.parse(lastTake.finishedAt) <= maxAgeMs;
}

export interface StatusResult {
  root: string;
  healthy: boolean;
  problems: StatusProblem[];
  newest?: { name: string; path: string; takenAt: string; ageSeconds: number };
  snapshots: number;
  lastTake?: StatusRun;
  lastVerify?: StatusRun;
  /** Objects in the store and their bytes (with link-limit replicas); undefined without a store. */
  store?: { objects: number; bytes: number };
  maxAgeSeconds?: number;
}

/** 90 s, 45 m, 30 h, 3 d: the largest unit that still shows at least two of it, rounded down. */
function roughAge(seconds: number): string {
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) if (seconds >= 2 * size) return `${Math.floor(seconds / size)}${unit}`;
  return `${Math.floor(seconds)}s`;
}

const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

function shown(r: StoredRun | undefined): StatusRun | undefined {
  if (!r) return undefined;
  const { id: _id, command: _c, startedNs, finishedNs, warnings, ...rest } = r;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  return { ...(defined as Omit<StatusRun, 'startedAt' | 'finishedAt' | 'warnings'>), startedAt: iso(startedNs), finishedAt: iso(finishedNs), warnings: warnings ?? 0 };
}

export function status(rootArg: string, opts: StatusOptions = {}): StatusResult {
  if (opts.maxAgeMs !== undefined && !(opts.maxAgeMs > 0)) throw new SnapError('USAGE', `--max-age must be longer than zero`);
  const rootPath = resolveRoot(rootArg);
  const now = (opts.now ?? (() => new Date()))();
  const result: StatusResult = { root: rootPath, healthy: true, problems: [], snapshots: 0 };
  if (opts.maxAgeMs !== undefined) result.maxAgeSeconds = opts.maxAgeMs / 1000;
  let root;
  try {
    root = openRoot(rootPath, { readonly: true });
  } catch (e) {
    // No store yet is a state to report (nothing has ever been taken), not a usage error.
    if (!(isSnapError(e) && e.code === 'NOT_A_STORE')) throw e;
  }
  if (root) {
    try {
      const { catalog } = root;
      const snaps = catalog.listSnapshots().filter((s) => s.state === 'complete');
      result.snapshots = snaps.length;
      const newest = snaps.at(-1);
      if (newest) {
        const ageSeconds = Math.max(0, (now.getTime() - Number(newest.takenNs / 1_000_000n)) / 1000);
        result.newest = { name: newest.name, path: path.join(rootPath, newest.name), takenAt: iso(newest.takenNs), ageSeconds };
      }
      result.lastTake = shown(lastRun(catalog, 'take'));
      result.lastVerify = shown(lastRun(catalog, 'verify'));
      const totals = storeTotals(catalog);
      result.store = { objects: totals.replicas, bytes: totals.bytes };
    } finally {
      root.close();
    }
  }

  const problem = (kind: ProblemKind, message: string) => result.problems.push({ kind, message });
  if (!result.newest) problem('no-snapshot', `no snapshot in ${rootPath}`);
  // A take skipped with --skip-unchanged confirmed, when it ran, that the newest snapshot still
  // is the source: the backup is as fresh as that take, however old the snapshot.
  else if (opts.maxAgeMs !== undefined && result.newest.ageSeconds * 1000 > opts.maxAgeMs && !confirmedSince(result.lastTake, now, opts.maxAgeMs)) {
    problem('too-old', `the newest snapshot ${result.newest.name} is ${roughAge(result.newest.ageSeconds)} old, more than --max-age ${durationKind.format(opts.maxAgeMs)}`);
  }
  if (result.lastTake?.outcome === 'failed') problem('take-failed', `the last take (${result.lastTake.finishedAt}) failed: ${result.lastTake.error}`);
  if (result.lastVerify && (result.lastVerify.damage ?? 0) > 0) {
    problem('verify-damage', `the last verify (${result.lastVerify.finishedAt}, ${result.lastVerify.tier}) found ${result.lastVerify.damage} damage finding(s); run \`snap verify ${rootPath} --repair\``);
  }
  result.healthy = result.problems.length === 0;
  return result;
}

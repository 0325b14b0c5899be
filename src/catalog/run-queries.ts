/**
 * Run records (table `runs`, schema v4): the outcome of each take and verify, read by
 * `snap status`. Only the newest KEEP rows per command are kept, so the table stays tiny.
 */
import type { Catalog } from './catalog.js';

/** How many records of each command are kept. */
const KEEP = 100;

export type RunCommand = 'take' | 'verify';

export interface RunRecord {
  command: RunCommand;
  startedNs: bigint;
  finishedNs: bigint;
  /** take: 'ok' | 'warnings' | 'failed'; verify: 'clean' | 'damage'. */
  outcome: string;
  snapshot?: string;
  warnings?: number;
  errorCode?: string;
  error?: string;
  tier?: string;
  snapshots?: number;
  damage?: number;
}

export interface StoredRun extends RunRecord {
  id: number;
}

/** Add a record and forget the oldest beyond KEEP; returns its id. */
export function addRun(catalog: Catalog, r: RunRecord): number {
  const db = catalog.db;
  return catalog.transaction(() => {
    const info = db
      .prepare(
        `INSERT INTO runs (command, started_ns, finished_ns, outcome, snapshot, warnings, error_code, error, tier, snapshots, damage)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(r.command, r.startedNs, r.finishedNs, r.outcome, r.snapshot ?? null, r.warnings ?? 0, r.errorCode ?? null, r.error ?? null, r.tier ?? null, r.snapshots ?? null, r.damage ?? null);
    db.prepare(`DELETE FROM runs WHERE command = ? AND id <= (SELECT id FROM runs WHERE command = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`).run(r.command, r.command, KEEP);
    return Number(info.lastInsertRowid);
  });
}

/** A take's hooks.post failed after its record was written: it completed with a warning. */
export function addRunWarning(catalog: Catalog, id: number, message: string): void {
  catalog.db.prepare(`UPDATE runs SET outcome = 'warnings', warnings = warnings + 1, error = ? WHERE id = ?`).run(message, id);
}

/**
 * The newest record of a command, or undefined. A catalog older than schema v4 (opened
 * read-only, so not migrated) has no records yet.
 */
export function lastRun(catalog: Catalog, command: RunCommand): StoredRun | undefined {
  const db = catalog.db;
  if (!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'`).get()) return undefined;
  const r = db.prepare(`SELECT * FROM runs WHERE command = ? ORDER BY id DESC LIMIT 1`).safeIntegers(true).get(command) as Record<string, unknown> | undefined;
  if (!r) return undefined;
  const num = (v: unknown) => (v === null ? undefined : Number(v));
  const str = (v: unknown) => (v === null ? undefined : String(v));
  return {
    id: Number(r.id),
    command,
    startedNs: BigInt(r.started_ns as bigint),
    finishedNs: BigInt(r.finished_ns as bigint),
    outcome: String(r.outcome),
    snapshot: str(r.snapshot),
    warnings: Number(r.warnings),
    errorCode: str(r.error_code),
    error: str(r.error),
    tier: str(r.tier),
    snapshots: num(r.snapshots),
    damage: num(r.damage),
  };
}

/**
 * `snap verify`: prove that the store still holds what the catalog says, and where it does not,
 * name every snapshot and path affected. The checks themselves are checks.ts; docs/verify.md
 * has the checks, tiers, locking and JSON.
 *
 * A plain verify takes no lock: it reads one consistent catalog state (a WAL read transaction)
 * and, at the end, drops findings about snapshots that were pruned while it ran. `--repair`
 * holds the lock, runs recover() first, repairs (repair.ts), then re-checks what it touched.
 */
import { openRoot, withLockedRoot, type Root } from '../shared/root.js';
import { recover, emptyTrash } from '../shared/recover.js';
import { Catalog } from '../../catalog/catalog.js';
import { beginRead, endRead, markObjectsVerified } from '../../catalog/verify-queries.js';
import { SnapError, isSnapError } from '../../errors.js';
import { isUnwritableError } from '../../catalog/sqlite.js';
import type { PackedKeys } from './check-objects.js';
import { ownersComparable, runChecks, type CheckResult } from './checks.js';
import { repairDamage } from './repair.js';
import type { Finding, VerifyCounts, VerifyOptions, VerifyReport } from './types.js';
import type { SavedPath } from '../shared/lost-found.js';
import { nowNs, recordRunIn, recordRunOn } from '../shared/run-record.js';
import type { RunRecord } from '../../catalog/run-queries.js';

export type { Finding, VerifyOptions, VerifyReport, VerifyCounts, VerifyProgress, FindingKind } from './types.js';


/** Record verified_ns for the objects that hashed clean; false when the catalog is busy or read-only. */
function recordVerified(catalogFile: string, keys: PackedKeys): boolean {
  if (keys.length === 0) return true;
  try {
    const c = Catalog.open(catalogFile);
    try {
      markObjectsVerified(c, keys, BigInt(Date.now()) * 1_000_000n);
    } finally {
      c.close();
    }
    return true;
  } catch (e) {
    // A take holds the catalog's write lock, or the store is read-only: not damage.
    if (isUnwritableError(e) || (isSnapError(e) && e.code === 'CATALOG')) return false;
    throw e;
  }
}

function validate(opts: VerifyOptions): VerifyReport['tier'] {
  if (opts.quick && opts.samplePercent !== undefined) throw new SnapError('USAGE', '--quick and --sample exclude each other');
  if (opts.samplePercent !== undefined && !(opts.samplePercent > 0 && opts.samplePercent <= 100)) {
    throw new SnapError('USAGE', `--sample must be a percentage in (0, 100], got ${opts.samplePercent}`);
  }
  return opts.quick ? 'quick' : opts.samplePercent !== undefined ? 'sample' : 'full';
}

function counts(r: CheckResult, findings: Finding[]): VerifyCounts {
  const damage = findings.filter((f) => f.severity === 'damage');
  return {
    snapshots: r.checked.length,
    entries: r.entries,
    objects: r.objects,
    objectsHashed: r.objectsHashed,
    bytesHashed: r.bytesHashed,
    damage: damage.length,
    info: findings.length - damage.length,
    repaired: damage.filter((f) => f.repaired === true).length,
    unrepaired: damage.filter((f) => f.repaired === false).length,
  };
}

/** Forget findings about snapshots that were pruned while a lock-free verify ran. */
function dropVanished(findings: Finding[], live: ReadonlySet<string>): Finding[] {
  const out: Finding[] = [];
  for (const f of findings) {
    if (f.snapshots.length === 0) {
      out.push(f);
      continue;
    }
    const snaps = f.snapshots.filter((s) => live.has(s));
    if (snaps.length === 0) continue;
    if (snaps.length < f.snapshots.length) {
      f.paths = f.paths.filter((p) => snaps.some((s) => p === s || p.startsWith(s + '/')));
      f.snapshots = snaps;
    }
    out.push(f);
  }
  return out;
}

function findingId(f: Finding): string {
  return `${f.kind}|${f.object ?? ''}|${f.snapshots.join(',')}|${f.paths.join('\n')}`;
}

/** The run record `snap status` shows: when, which tier, how many snapshots, damage left. */
function runRecord(startedNs: bigint, report: VerifyReport): RunRecord {
  const damage = report.findings.filter((f) => f.severity === 'damage' && f.repaired !== true).length;
  return { command: 'verify', startedNs, finishedNs: nowNs(), outcome: damage > 0 ? 'damage' : 'clean', tier: report.tier, snapshots: report.snapshots.length, damage };
}

export async function verify(rootArg: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const t0 = process.hrtime.bigint();
  const startedNs = nowNs();
  const tier = validate(opts);
  const leftovers = !opts.snapshots || opts.snapshots.length === 0;
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
  if (opts.repair) return verifyAndRepair(rootArg, opts, tier, leftovers, seconds, startedNs);

  const root = openRoot(rootArg, { readonly: true });
  try {
    beginRead(root.catalog);
    const owners = ownersComparable(root);
    const r = await runChecks(root, { names: opts.snapshots, tier, samplePercent: opts.samplePercent, owners, leftovers, onProgress: opts.onProgress });
    endRead(root.catalog);
    const live = new Set(root.catalog.listSnapshots().filter((s) => s.state === 'complete').map((s) => s.name));
    const findings = dropVanished(r.findings, live);
    const verifiedRecorded = recordVerified(root.layout.catalog, r.hashedClean);
    const report: VerifyReport = {
      root: root.layout.root,
      tier,
      snapshots: r.checked.map((s) => s.name),
      findings,
      damaged: findings.some((f) => f.severity === 'damage'),
      counts: counts(r, findings),
      verifiedRecorded,
      repair: false,
      seconds: seconds(),
    };
    recordRunIn(root.layout.catalog, runRecord(startedNs, report)); // best effort, like verifiedRecorded
    return report;
  } finally {
    endRead(root.catalog);
    root.close();
  }
}

async function verifyAndRepair(
  rootArg: string,
  opts: VerifyOptions,
  tier: VerifyReport['tier'],
  leftovers: boolean,
  seconds: () => number,
  startedNs: bigint,
): Promise<VerifyReport> {
  let rootRef: Root | undefined;
  try {
    return await withLockedRoot(rootArg, 'verify --repair', { waitMs: opts.waitMs }, async (root) => {
      rootRef = root;
      await recover(root);
      const owners = ownersComparable(root);
      const base = { names: opts.snapshots, tier, samplePercent: opts.samplePercent, owners, leftovers };
      const first = await runChecks(root, { ...base, onProgress: opts.onProgress });
      let findings = first.findings;
      let saved: SavedPath[] = [];
      if (findings.some((f) => f.severity === 'damage')) {
        saved = await repairDamage(root, first, owners);
        // Re-check: the folders fully (cheap), the content of exactly the objects that had findings.
        const second = await runChecks(root, { ...base, leftovers: false, hashOnly: new Set(first.objectDamage.keys()) });
        const remaining = new Map(second.findings.filter((f) => f.severity === 'damage').map((f) => [findingId(f), f]));
        for (const f of findings) {
          if (f.severity !== 'damage') continue;
          const id = findingId(f);
          f.repaired = !remaining.has(id);
          remaining.delete(id);
        }
        // Anything new (e.g. a path a repair could not re-link) is reported as unrepaired.
        findings = [...findings, ...[...remaining.values()].map((f) => ({ ...f, repaired: false }))];
      }
      const verifiedRecorded = recordVerifiedOn(root, first.hashedClean);
      const report: VerifyReport = {
        root: root.layout.root,
        tier,
        snapshots: first.checked.map((s) => s.name),
        findings,
        damaged: findings.some((f) => f.severity === 'damage' && f.repaired !== true),
        counts: counts(first, findings),
        verifiedRecorded,
        repair: true,
        saved,
        seconds: seconds(),
      };
      recordRunOn(root.catalog, runRecord(startedNs, report));
      return report;
    });
  } finally {
    if (rootRef) await emptyTrash(rootRef).catch(() => {}); // after unlocking, as take does
  }
}

function recordVerifiedOn(root: Root, keys: PackedKeys): boolean {
  if (keys.length === 0) return true;
  try {
    markObjectsVerified(root.catalog, keys, BigInt(Date.now()) * 1_000_000n);
    return true;
  } catch (e) {
    if (isUnwritableError(e)) return false;
    throw e;
  }
}

/**
 * `snap verify`: prove that the store still holds what the catalog says, and name every
 * snapshot and path that is not. See docs/verify.md for the checks, tiers, locking and JSON.
 *
 * Order: the catalog (integrity and invariants) → every referenced object once (stat; read and
 * hash unless --quick) → every selected snapshot's dated folder against its manifest, which also
 * maps each damaged object to every snapshot path sharing it → leftovers (informational).
 *
 * A plain verify takes no lock: it reads one consistent catalog state (a WAL read transaction)
 * and, at the end, drops findings about snapshots that were pruned while it ran. `--repair`
 * holds the lock, runs recover() first, repairs (repair.ts), then re-checks what it touched.
 */
import fs from 'node:fs';
import { openRoot, withLockedRoot, type Root } from '../shared/root.js';
import { recover, emptyTrash } from '../shared/recover.js';
import { Catalog, type SnapshotRow } from '../../catalog/catalog.js';
import {
  beginRead,
  catalogFileProblems,
  endRead,
  markObjectsVerified,
  markSample,
  referencedPage,
  stageReferencedObjects,
  stagedBytes,
  snapshotsWithoutRootTree,
  type ReferencedObject,
} from '../../catalog/verify-queries.js';
import { SNAPSHOT_NAME_RE, objectName, type ObjectKey } from '../../store/layout.js';
import { SnapError } from '../../errors.js';
import { checkObjects, type PackedKeys } from './check-objects.js';
import { attachObjectPaths, checkSnapshot, type FolderCheckContext } from './check-folders.js';
import { awaitingPublish, runLeftovers, storeLeftovers } from './check-store.js';
import { repairDamage } from './repair.js';
import type { Finding, ObjectDamage, ReplacedEntry, VerifyCounts, VerifyOptions, VerifyReport } from './types.js';

export type { Finding, VerifyOptions, VerifyReport, VerifyCounts, VerifyProgress, FindingKind } from './types.js';

export interface CheckOptions {
  names?: string[];
  tier: VerifyReport['tier'];
  samplePercent?: number;
  /** Hash exactly these objects (objectName), whatever the tier (the re-check after a repair). */
  hashOnly?: ReadonlySet<string>;
  owners: boolean;
  /** Store-wide leftovers (only when the whole root is verified). */
  leftovers: boolean;
  onProgress?: VerifyOptions['onProgress'];
}

export interface CheckResult {
  all: SnapshotRow[];
  checked: SnapshotRow[];
  findings: Finding[];
  objectDamage: Map<string, ObjectDamage>;
  replaced: ReplacedEntry[];
  folderDamaged: Set<string>;
  unrebuildable: Set<string>;
  hashedClean: PackedKeys;
  entries: number;
  objects: number;
  objectsHashed: number;
  bytesHashed: number;
}

/**
 * Owners can only be compared when the snapshots were made as root (otherwise every file belongs
 * to the user who ran take): we compare them when running as root on a store root made.
 */
export function ownersComparable(root: Root): boolean {
  if (!root.asRoot) return false;
  try {
    return fs.statSync(root.layout.store).uid === 0;
  } catch {
    return false;
  }
}

function keyOf(r: ReferencedObject): ObjectKey {
  return { hash: r.hash, mode: r.mode, uid: r.uid, gid: r.gid, mtimeUs: r.mtimeUs };
}

export async function runChecks(root: Root, opts: CheckOptions): Promise<CheckResult> {
  const { catalog } = root;
  const findings: Finding[] = [];
  const all = catalog.listSnapshots();
  const complete = all.filter((s) => s.state === 'complete');

  let checked: SnapshotRow[];
  if (opts.names && opts.names.length > 0) {
    checked = opts.names.map((n) => {
      const s = complete.find((x) => x.name === n);
      if (!s) throw new SnapError('NO_SNAPSHOT', `no snapshot named ${n}`, { hint: 'run `snap list <root>` to see the snapshots' });
      return s;
    });
  } else checked = complete;

  // 1. The catalog file and the rows everything else relies on.
  const problems = catalogFileProblems(catalog, opts.tier === 'quick');
  if (problems.length) {
    findings.push({
      kind: 'catalog-integrity',
      severity: 'damage',
      snapshots: [],
      paths: ['.snap/catalog.db'],
      message: `SQLite ${opts.tier === 'quick' ? 'quick_check' : 'integrity_check'}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (+${problems.length - 5} more)` : ''}`,
    });
  }
  for (const name of snapshotsWithoutRootTree(catalog)) {
    findings.push({ kind: 'catalog-invariant', severity: 'damage', snapshots: [name], paths: [], message: 'the snapshot row has no root tree record' });
  }
  const unrebuildable = new Set<string>();
  const safe: SnapshotRow[] = [];
  for (const s of checked) {
    if (SNAPSHOT_NAME_RE.test(s.name)) safe.push(s);
    else {
      findings.push({ kind: 'catalog-invariant', severity: 'damage', snapshots: [s.name], paths: [], message: `unsafe snapshot name ${JSON.stringify(s.name)}: its folder is not checked` });
      unrebuildable.add(s.name);
    }
  }

  // 2. Every object the checked snapshots reference, staged in SQLite and read back in pages.
  const total = stageReferencedObjects(
    catalog,
    checked.map((s) => s.rootTree),
  );
  if (opts.tier === 'sample' && !opts.hashOnly) markSample(catalog, opts.samplePercent ?? 100);
  const shouldHash = (ref: ReferencedObject): boolean => {
    if (opts.hashOnly) return opts.hashOnly.has(objectName(keyOf(ref)));
    return opts.tier === 'full' || (opts.tier === 'sample' && ref.sampled === true);
  };
  const totalBytes = opts.hashOnly ? 0 : opts.tier === 'quick' ? 0 : stagedBytes(catalog, opts.tier === 'sample');
  let doneBytes = 0;
  let doneItems = 0;
  const sampled = new Set<string>();
  function* pages(): Generator<ReferencedObject[]> {
    for (let after = 0; ; ) {
      const page = referencedPage(catalog, after, 1024);
      if (page.length === 0) return;
      after = page.at(-1)!.rid;
      const refs = page.map((p) => p.ref);
      for (const r of refs) if (shouldHash(r)) sampled.add(objectName(keyOf(r)));
      yield refs;
      sampled.clear();
    }
  }
  const objects = await checkObjects(root, pages(), {
    shouldHash: (k) => sampled.has(objectName(k)),
    owners: opts.owners,
    onBytes: (b, i) => {
      doneBytes += b;
      doneItems += i;
      opts.onProgress?.({ doneBytes, totalBytes, doneItems, totalItems: total });
    },
  });

  // 3. The dated folders, and the paths of damaged objects in every snapshot (also the ones not
  //    selected: a damaged object is listed with everything that shares it).
  const staged = awaitingPublish(root, all);
  const ctx: FolderCheckContext = {
    root,
    owners: opts.owners,
    objectDamage: objects.damage,
    findings: [],
    replaced: [],
    folderDamaged: new Set(),
    unrebuildable,
    entries: 0,
  };
  const selected = new Set(safe.map((s) => s.name));
  for (const s of complete) {
    const check = selected.has(s.name) && !staged.has(s.name);
    if (!check && (objects.damage.size === 0 || !SNAPSHOT_NAME_RE.test(s.name))) continue;
    const before = ctx.findings.length;
    checkSnapshot(ctx, s, check);
    if (!check) ctx.findings.length = before; // mapping only: its folder was not selected
    await new Promise((r) => setImmediate(r)); // let progress and signals through
  }
  attachObjectPaths(objects.damage.values());
  findings.push(...[...objects.damage.values()].map((d) => d.finding));
  findings.push(...ctx.findings);

  // 4. Leftovers: informational.
  if (opts.leftovers) {
    // A snapshot being pruned still owns its objects until its row is gone: not "unreferenced".
    findings.push(...storeLeftovers(root));
    findings.push(...runLeftovers(root, all));
  }
  return {
    all,
    checked,
    findings,
    objectDamage: objects.damage,
    replaced: ctx.replaced,
    folderDamaged: ctx.folderDamaged,
    unrebuildable,
    hashedClean: objects.hashedClean,
    entries: ctx.entries,
    objects: total,
    objectsHashed: objects.hashed,
    bytesHashed: objects.bytesHashed,
  };
}

/**
 * The snapshots whose dated folder a rebuild would fix (missing, or damaged in structure or
 * metadata, or with files that are not links to their objects): materialize's default set.
 */
export async function damagedFolders(root: Root): Promise<Set<string>> {
  const r = await runChecks(root, { tier: 'quick', owners: ownersComparable(root), leftovers: false });
  const out = new Set(r.folderDamaged);
  for (const x of r.replaced) out.add(x.snapshot);
  return out;
}

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
  } catch {
    return false; // a take holds the catalog's write lock, or the store is read-only: not damage
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

export async function verify(rootArg: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const t0 = process.hrtime.bigint();
  const tier = validate(opts);
  const leftovers = !opts.snapshots || opts.snapshots.length === 0;
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
  if (opts.repair) return verifyAndRepair(rootArg, opts, tier, leftovers, seconds);

  const root = openRoot(rootArg, { readonly: true });
  try {
    beginRead(root.catalog);
    const owners = ownersComparable(root);
    const r = await runChecks(root, { names: opts.snapshots, tier, samplePercent: opts.samplePercent, owners, leftovers, onProgress: opts.onProgress });
    endRead(root.catalog);
    const live = new Set(root.catalog.listSnapshots().filter((s) => s.state === 'complete').map((s) => s.name));
    const findings = dropVanished(r.findings, live);
    const verifiedRecorded = recordVerified(root.layout.catalog, r.hashedClean);
    return {
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
      if (findings.some((f) => f.severity === 'damage')) {
        await repairDamage(root, first, owners);
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
      return {
        root: root.layout.root,
        tier,
        snapshots: first.checked.map((s) => s.name),
        findings,
        damaged: findings.some((f) => f.severity === 'damage' && f.repaired !== true),
        counts: counts(first, findings),
        verifiedRecorded,
        repair: true,
        seconds: seconds(),
      };
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
  } catch {
    return false;
  }
}

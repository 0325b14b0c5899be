/**
 * The checks behind `snap verify`, as library code that verify, repair and materialize call:
 * the catalog (integrity and invariants) → every referenced object once (stat; read and hash
 * unless --quick) → every selected snapshot's dated folder against its manifest, which also
 * maps each damaged object to every snapshot path sharing it → leftovers (informational).
 */
import type { Root } from '../shared/root.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import { markSample, referencedPage, stageReferencedObjects, stagedBytes, type ReferencedObject } from '../../catalog/verify-queries.js';
import { catalogInvariantProblems, type CatalogProblem, type CatalogProblemKind } from '../../catalog/invariants.js';
import { objectName } from '../../store/layout.js';
import { HASH_BYTES } from '../../store/hasher.js';
import { MAX_TREE_DEPTH } from '../shared/snapshot-tree.js';
import { type ObjectKey } from '../../model/object-key.js';
import { SnapError } from '../../errors.js';
import { checkObjects, type PackedKeys } from './check-objects.js';
import { attachObjectPaths, checkFolders, type FolderCheckContext, type SnapshotToWalk } from './check-folders.js';
import { ObjectInodes } from './object-inodes.js';
import { awaitingPublish, runLeftovers, storeLeftovers } from './check-store.js';
import type { Finding, ObjectDamage, ReplacedEntry, VerifyOptions, VerifyReport } from './types.js';
import { lstatOrUndefined } from '../../util/fs.js';

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
 * to the user who ran take): they are compared when verify runs as root on a store that root
 * created (its .snap belongs to uid 0).
 */
export function ownersComparable(root: Root): boolean {
  if (!root.asRoot) return false;
  return lstatOrUndefined(root.layout.store)?.uid === 0n;
}

function keyOf(r: ReferencedObject): ObjectKey {
  return { hash: r.hash, mode: r.mode, uid: r.uid, gid: r.gid, mtimeUs: r.mtimeUs, ...(r.xattrs ? { xattrs: r.xattrs } : {}) };
}

/** Problems the folder walk (check-folders.ts) reports itself, with the path, when it walks them. */
const WALK_REPORTS: ReadonlySet<CatalogProblemKind> = new Set(['entry-name', 'entry-kind', 'entry-file', 'entry-dir', 'entry-symlink', 'tree-cycle', 'tree-depth']);

/**
 * The catalog's problems as findings: one catalog-integrity finding for SQLite's check, one
 * catalog-invariant finding per other problem, except those the folder walk of a walked
 * snapshot reports itself, with their paths.
 */
function catalogFindings(
  problems: readonly CatalogProblem[],
  ctx: { tier: VerifyReport['tier']; walked: ReadonlySet<string>; complete: ReadonlySet<string> },
): { findings: Finding[]; unrebuildable: Set<string> } {
  const findings: Finding[] = [];
  const unrebuildable = new Set<string>();
  const sqlite = problems.filter((p) => p.kind === 'sqlite').map((p) => p.message);
  if (sqlite.length) {
    findings.push({
      kind: 'catalog-integrity',
      severity: 'damage',
      snapshots: [],
      paths: ['.snap/catalog.db'],
      message: `SQLite ${ctx.tier === 'quick' ? 'quick_check' : 'integrity_check'}: ${sqlite.slice(0, 5).join('; ')}${sqlite.length > 5 ? ` (+${sqlite.length - 5} more)` : ''}`,
    });
  }
  for (const p of problems) {
    if (p.kind === 'sqlite') continue;
    // Only complete snapshots are named: findings about others would be dropped as "pruned".
    const live = p.snapshots.filter((n) => ctx.complete.has(n));
    for (const n of live) unrebuildable.add(n);
    if (WALK_REPORTS.has(p.kind) && p.snapshots.some((n) => ctx.walked.has(n))) continue;
    let message = p.message;
    if (p.kind === 'snapshot-name') {
      const tail = ctx.complete.has(p.snapshot!) ? 'its folder is not checked' : 'linksnap neither moves nor deletes anything for it';
      message = `unsafe snapshot name ${JSON.stringify(p.snapshot)}: ${tail}`;
    } else if (p.kind === 'snapshot-tree') message = `the snapshot row ${JSON.stringify(p.snapshot)} has no root tree record`;
    findings.push({ kind: 'catalog-invariant', severity: 'damage', snapshots: live, paths: [], message });
  }
  return { findings, unrebuildable };
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

  // 1. The catalog: SQLite's own check and linksnap's invariants (catalog/invariants.ts, the
  //    check pull runs on a replica's catalog). Snapshots with a bad name, or with rows the folder
  //    walk cannot read, are not walked; what the walk reports itself (with paths) is left to it.
  const problems = catalogInvariantProblems(catalog, { sqlite: opts.tier === 'quick' ? 'quick' : 'integrity', hashBytes: HASH_BYTES, maxTreeDepth: MAX_TREE_DEPTH });
  const unwalkable = new Set(problems.filter((p) => p.kind === 'snapshot-name' || p.kind === 'entry-type').flatMap((p) => p.snapshots));
  const safe = checked.filter((s) => !unwalkable.has(s.name));
  const staged = awaitingPublish(root, all);
  const catalogPart = catalogFindings(problems, {
    tier: opts.tier,
    walked: new Set(safe.filter((s) => !staged.has(s.name)).map((s) => s.name)),
    complete: new Set(complete.map((s) => s.name)),
  });
  findings.push(...catalogPart.findings);
  const unrebuildable = catalogPart.unrebuildable;

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
  const inodes = new ObjectInodes(total);
  const objects = await checkObjects(root, pages(), {
    shouldHash: (k) => sampled.has(objectName(k)),
    owners: opts.owners,
    inodes,
    onBytes: (b, i) => {
      doneBytes += b;
      doneItems += i;
      opts.onProgress?.({ doneBytes, totalBytes, doneItems, totalItems: total });
    },
  });

  // 3. The dated folders, and the paths of damaged objects in every snapshot (also the ones not
  //    selected: a damaged object is listed with everything that shares it).
  const ctx: FolderCheckContext = {
    root,
    owners: opts.owners,
    objectDamage: objects.damage,
    inodes,
    findings: [],
    replaced: [],
    folderDamaged: new Set(),
    unrebuildable,
    entries: 0,
  };
  const selected = new Set(safe.map((s) => s.name));
  const walks: SnapshotToWalk[] = [];
  for (const s of complete) {
    const check = selected.has(s.name) && !staged.has(s.name);
    if (!check && (objects.damage.size === 0 || unwalkable.has(s.name))) continue;
    walks.push({ snap: s, check });
  }
  await checkFolders(ctx, walks);
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

/**
 * `snap prune`: apply a retention policy (given, else saved, else keep-last 16) to the complete
 * snapshots, remove the rest, and free the objects only they used.
 *
 * Under the lock: recover → plan → remove (rows marked, folders renamed into .snap/trash, rows
 * deleted; src/ops/shared/remove.ts) → gc of the freed objects. After the lock is released: delete the
 * trash, so the slow part never holds up the next take. `dryRun` opens the catalog read-only,
 * takes no lock and changes nothing.
 */
import { openRoot, lockRoot, type Root } from '../shared/root.js';
import { recover, emptyTrash } from '../shared/recover.js';
import { removeSnapshots } from '../shared/remove.js';
import { collectGarbage } from './collect-garbage.js';
import { planFor } from './rotate.js';
import { effectivePolicy, type PolicySource } from './saved-policy.js';
import { checkPolicy, isEmptyPolicy, type KeepReason, type RetentionPolicy } from './policy.js';
import { unreferencedAfterRemoving } from '../../catalog/retention-queries.js';

export interface PruneOptions {
  /** The policy for this run; undefined or empty means the saved policy (else keep-last 16). */
  policy?: RetentionPolicy;
  dryRun?: boolean;
  waitMs?: number;
}

export interface PruneResult {
  dryRun: boolean;
  policy: RetentionPolicy;
  policySource: PolicySource;
  /** Removed (or, with dryRun, to be removed) snapshots, oldest first. */
  removed: string[];
  /** Survivors, oldest first, with every reason each one stays. */
  kept: { name: string; pinned: boolean; reasons: KeepReason[] }[];
  /** Objects and bytes (all replicas) freed; with dryRun, what a real run would free. */
  freedObjects: number;
  freedBytes: number;
  seconds: number;
}

function choosePolicy(root: Root, given: RetentionPolicy | undefined): { policy: RetentionPolicy; source: PolicySource } {
  if (given && !isEmptyPolicy(given)) {
    checkPolicy(given);
    return { policy: given, source: 'options' };
  }
  return effectivePolicy(root.catalog);
}

function plan(root: Root, given: RetentionPolicy | undefined) {
  const { policy, source } = choosePolicy(root, given);
  const rows = root.catalog.listSnapshots();
  const pinned = new Set(rows.filter((s) => s.pinned).map((s) => s.name));
  const p = planFor(rows, policy);
  return {
    policy,
    source,
    removed: p.remove,
    kept: p.keep.map((k) => ({ name: k.name, pinned: pinned.has(k.name), reasons: k.reasons })),
  };
}

export async function prune(rootArg: string, opts: PruneOptions = {}): Promise<PruneResult> {
  const t0 = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - t0) / 1e9;
  if (opts.policy) checkPolicy(opts.policy); // a bad option fails before anything is opened

  if (opts.dryRun) {
    const root = openRoot(rootArg, { readonly: true });
    try {
      const p = plan(root, opts.policy);
      const freed = unreferencedAfterRemoving(root.catalog, p.removed);
      return { dryRun: true, policy: p.policy, policySource: p.source, removed: p.removed, kept: p.kept, freedObjects: freed.objects, freedBytes: freed.bytes, seconds: seconds() };
    } finally {
      root.close();
    }
  }

  const root = openRoot(rootArg);
  let lock;
  try {
    lock = lockRoot(root, 'prune', opts.waitMs);
    await recover(root);
    const p = plan(root, opts.policy);
    await removeSnapshots(root, p.removed);
    const gc = await collectGarbage(root);
    return { dryRun: false, policy: p.policy, policySource: p.source, removed: p.removed, kept: p.kept, freedObjects: gc.objects, freedBytes: gc.bytes, seconds: seconds() };
  } finally {
    lock?.release();
    root.close();
    await emptyTrash(root).catch(() => {}); // best effort; the next run retries
  }
}

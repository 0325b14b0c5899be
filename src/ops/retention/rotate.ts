/**
 * The rotation after `snap take`: apply a retention policy to the complete snapshots and remove
 * the rest. `--keep N` on take means keep-last N (the seed's numRotations); without it the saved
 * policy applies, else keep-last 16. Pinned snapshots and the newest one always stay, and so
 * does the newest one that holds files while newer ones are empty (policy.ts). Creation order
 * comes from the catalog, never from folder names.
 */
import type { Root } from '../shared/root.js';
import { removeSnapshots } from '../shared/remove.js';
import { planRetention, type RetentionPlan, type RetentionPolicy } from './policy.js';
import { effectivePolicy } from './saved-policy.js';
import type { SnapshotRow } from '../../catalog/catalog.js';

/**
 * The plan for the complete snapshots of a catalog listing ('deleting' rows are already going),
 * with their file counts, so that the newest snapshot with files outlives empty ones.
 */
export function planFor(snapshots: readonly SnapshotRow[], policy: RetentionPolicy): RetentionPlan {
  return planRetention(
    snapshots.filter((s) => s.state === 'complete'),
    policy,
  );
}

/** Rotate by `keep` (keep-last N) or a policy; undefined applies the root's saved policy. */
export async function rotate(root: Root, keep?: number | RetentionPolicy): Promise<string[]> {
  const policy = typeof keep === 'number' ? { last: keep } : (keep ?? effectivePolicy(root.catalog).policy);
  const doomed = planFor(root.catalog.listSnapshots(), policy).remove;
  await removeSnapshots(root, doomed);
  return doomed;
}

/**
 * The seed's rotation: keep the newest N complete snapshots (pinned ones are kept on top of
 * that), remove the rest. Creation order comes from the catalog, never from folder names.
 */
import type { Root } from './root.js';
import { removeSnapshots } from './remove.js';

/** Names that keeping the newest `keep` would remove, oldest first. */
export function planRotation(snapshots: readonly { name: string; pinned: boolean; state: string }[], keep: number): string[] {
  const complete = snapshots.filter((s) => s.state === 'complete');
  const newest = new Set(complete.slice(-keep).map((s) => s.name));
  return complete.filter((s) => !newest.has(s.name) && !s.pinned).map((s) => s.name);
}

export async function rotate(root: Root, keep: number): Promise<string[]> {
  const doomed = planRotation(root.catalog.listSnapshots(), keep);
  await removeSnapshots(root, doomed);
  return doomed;
}

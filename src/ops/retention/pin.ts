/**
 * `snap pin` / `snap unpin`: a pinned snapshot is never removed by prune or by the rotation
 * after a take (it still counts for the policy's rules, like any other snapshot).
 */
import path from 'node:path';
import { withLockedRoot } from '../shared/root.js';
import { recover } from '../shared/recover.js';
import { getSnapshotOrThrow } from '../shared/snapshot-tree.js';
import { SnapError } from '../../errors.js';

export interface PinResult {
  snapshots: { name: string; pinned: boolean; changed: boolean }[];
}

/**
 * A snapshot argument: its name, or a path to its dated folder (`/backups/music/2026-...`,
 * with or without a trailing slash, as shell completion gives it).
 */
export function snapshotNameOf(arg: string): string {
  const trimmed = arg.replace(/\/+$/, '');
  if (!trimmed) throw new SnapError('USAGE', `'${arg}' is not a snapshot name`);
  return path.basename(trimmed);
}

/** Pin or unpin every named snapshot; an unknown name fails the whole call before any change. */
export async function setPinned(rootArg: string, args: readonly string[], pinned: boolean, opts: { waitMs?: number } = {}): Promise<PinResult> {
  if (args.length === 0) throw new SnapError('USAGE', 'name at least one snapshot');
  const names = [...new Set(args.map(snapshotNameOf))];
  return withLockedRoot(rootArg, pinned ? 'pin' : 'unpin', { waitMs: opts.waitMs }, async (root) => {
    await recover(root);
    const { catalog } = root;
    const rows = names.map((n) => getSnapshotOrThrow(catalog, n));
    catalog.transaction(() => {
      for (const r of rows) if (r.pinned !== pinned) catalog.setPinned(r.name, pinned);
    });
    return { snapshots: rows.map((r) => ({ name: r.name, pinned, changed: r.pinned !== pinned })) };
  });
}

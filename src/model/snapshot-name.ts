/**
 * What a snapshot's name may be. A name from the catalog (local, or a replica's) becomes a path
 * `<root>/<name>` that linksnap renames and deletes, so the catalog's invariant check and every
 * code path that acts on a row check it with this one rule.
 */
import { SnapError } from '../errors.js';

/** The seed's format, YYYY-MM-DD_HH.MM.SS (local time): never `.`, `..`, `/` or `.latest`. */
export const SNAPSHOT_NAME_RE = /^\d{4}-\d{2}-\d{2}_\d{2}\.\d{2}\.\d{2}$/;

export function isSnapshotName(name: unknown): name is string {
  return typeof name === 'string' && SNAPSHOT_NAME_RE.test(name);
}

/** Refuse (exit 6) a row whose name is not a dated-folder name, before its path is touched. */
export function assertSnapshotName(name: unknown): asserts name is string {
  if (!isSnapshotName(name)) {
    throw new SnapError('UNSAFE_PATH', `refusing snapshot name ${JSON.stringify(name)} from the catalog`, {
      hint: 'the catalog is damaged or was tampered with; nothing was moved or deleted for it. Run `snap verify <root>` (docs/operations.md, "A snapshot name is refused")',
    });
  }
}

/**
 * Reading a snapshot's manifest from the catalog: find a snapshot by name, walk its trees depth
 * first, look up one path. Every name is re-checked with isSafeName before it is yielded, so no
 * caller can be led to write outside its target by a corrupt or hostile catalog.
 */
import type { Catalog, SnapshotRow } from '../../catalog/catalog.js';
import { Kind, type Entry } from '../../model/entry.js';
import { assertSafeName, joinPath, showName } from '../../util/paths.js';
import { SnapError } from '../../errors.js';

/** Deeper than any real tree can be (PATH_MAX 4096): only a cyclic, tampered catalog gets here. */
export const MAX_TREE_DEPTH = 2048;

export function getSnapshotOrThrow(catalog: Catalog, name: string): SnapshotRow {
  const s = catalog.getSnapshot(name);
  if (!s || s.state !== 'complete') {
    throw new SnapError('NO_SNAPSHOT', `no snapshot named ${name}`, { hint: 'run `snap list <root>` to see the snapshots' });
  }
  return s;
}

export interface WalkedEntry {
  /** Path relative to the snapshot's top folder, as bytes. */
  rel: Buffer;
  entry: Entry;
  /** Depth below the top folder (1 for its direct children). */
  depth: number;
}

/**
 * Every entry below tree `treeId`, depth first, parents before children, names in byte order.
 * Memory: one folder's entries per level of depth. `prefix` is prepended to every rel path.
 */
export function* walkTree(catalog: Catalog, treeId: number, prefix: Buffer = Buffer.alloc(0), depth = 1): Generator<WalkedEntry> {
  for (const entry of catalog.treeEntries(treeId)) {
    assertSafeName(entry.name, `tree ${treeId}`);
    const rel = joinPath(prefix, entry.name);
    yield { rel, entry, depth };
    if (entry.kind === Kind.Dir) {
      if (entry.subtree === undefined) throw new SnapError('CATALOG', `folder ${showName(rel)} has no tree record`);
      yield* walkTree(catalog, entry.subtree, rel, depth + 1);
    }
  }
}

/**
 * The entry at `parts` (path components, already split and checked) in the snapshot; undefined
 * when no such path exists. An empty `parts` means the top folder (returned as a Dir entry).
 */
export function lookupPath(catalog: Catalog, snap: SnapshotRow, parts: readonly Buffer[]): Entry | undefined {
  let entry: Entry = {
    name: Buffer.alloc(0),
    kind: Kind.Dir,
    mode: snap.rootMode,
    uid: snap.rootUid,
    gid: snap.rootGid,
    mtimeNs: snap.rootMtimeNs,
    size: 0,
    subtree: snap.rootTree,
  };
  for (const part of parts) {
    if (entry.kind !== Kind.Dir || entry.subtree === undefined) return undefined;
    const next = catalog.treeEntry(entry.subtree, part);
    if (!next) return undefined;
    entry = next;
  }
  return entry;
}

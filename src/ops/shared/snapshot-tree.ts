/**
 * Reading a snapshot's manifest from the catalog: find a snapshot by name, walk its trees depth
 * first, look up one path. Every name is re-checked with isSafeName before it is yielded, so no
 * caller can be led to write outside its target by a corrupt or hostile catalog; and every
 * descent goes through TreeGuard, so no walk can loop on a cyclic one.
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

/** A path of a snapshot as reports show it, relative to the root: `<snapshot>/<path>`, or the name alone for its top. */
export function snapshotPath(snapshot: string, rel: Buffer): string {
  return rel.length === 0 ? snapshot : `${snapshot}/${showName(rel)}`;
}

/** The one error every walk of catalog trees raises for a cycle or an absurd depth. */
export function unsafeTreeError(snapshot: string, what: string): SnapError {
  return new SnapError('UNSAFE_PATH', `the catalog's folders of ${snapshot} ${what}`, {
    hint: 'the catalog is damaged or was tampered with; run `snap verify`',
  });
}

/**
 * Where a walk of a snapshot's trees stands: the chain of folders (tree ids) from the top down
 * to the current one. Every command that descends through catalog trees (materialize and the
 * rebuilds, verify, restore, find, diff) descends with `enter`, which refuses a folder that is
 * its own ancestor (a cycle: only a damaged or tampered catalog has one) or that lies deeper
 * than MAX_TREE_DEPTH. So a walk ends with an UNSAFE_PATH error naming the snapshot, never in
 * a hang or a stack overflow. Checking the chain costs O(depth) per folder; real trees are
 * shallow, and the depth is capped.
 */
export class TreeGuard {
  private constructor(
    readonly snapshot: string,
    /** The tree being walked. */
    readonly tree: number,
    /** Its depth below the snapshot's top folder (0 for the top). */
    readonly depth: number,
    private readonly parent: TreeGuard | undefined,
  ) {}

  /** The start of a walk at tree `tree`, `depth` levels below the top of `snapshot`. */
  static top(snapshot: string, tree: number, depth = 0): TreeGuard {
    return new TreeGuard(snapshot, tree, depth, undefined);
  }

  /** The guard of subfolder `rel` (tree `subtree`), or why descending into it is refused. */
  tryEnter(subtree: number, rel: Buffer): TreeGuard | string {
    if (this.depth + 1 > MAX_TREE_DEPTH) return `nest deeper than ${MAX_TREE_DEPTH} levels at ${showName(rel)}`;
    for (let g: TreeGuard | undefined = this; g; g = g.parent) {
      if (g.tree === subtree) return `form a cycle at ${showName(rel)}`;
    }
    return new TreeGuard(this.snapshot, subtree, this.depth + 1, this);
  }

  /** The guard of subfolder `rel`; throws (UNSAFE_PATH, or CATALOG without a tree record) when refused. */
  enter(subtree: number | undefined, rel: Buffer): TreeGuard {
    if (subtree === undefined) throw new SnapError('CATALOG', `folder ${showName(rel)} of ${this.snapshot} has no tree record`);
    const next = this.tryEnter(subtree, rel);
    if (typeof next === 'string') throw unsafeTreeError(this.snapshot, next);
    return next;
  }
}

export interface WalkedEntry {
  /** Path relative to the snapshot's top folder, as bytes. */
  rel: Buffer;
  entry: Entry;
  /** Depth below the top folder (1 for its direct children). */
  depth: number;
}

/**
 * Every entry below the tree of `top`, depth first, parents before children, names in byte
 * order, each name checked with isSafeName and each descent with the guard. Iterative: memory
 * is one page of a folder's entries per level of depth. `prefix` is prepended to every rel path.
 */
export function* walkTree(catalog: Catalog, top: TreeGuard, prefix: Buffer = Buffer.alloc(0)): Generator<WalkedEntry> {
  const stack = [{ guard: top, rel: prefix, entries: catalog.treeEntriesPaged(top.tree) }];
  while (stack.length > 0) {
    const at = stack[stack.length - 1]!;
    const next = at.entries.next();
    if (next.done) {
      stack.pop();
      continue;
    }
    const entry = next.value;
    assertSafeName(entry.name, `tree ${at.guard.tree}`);
    const rel = joinPath(at.rel, entry.name);
    const depth = at.guard.depth + 1;
    if (entry.kind !== Kind.Dir) {
      yield { rel, entry, depth };
      continue;
    }
    const guard = at.guard.enter(entry.subtree, rel);
    yield { rel, entry, depth };
    stack.push({ guard, rel, entries: catalog.treeEntriesPaged(guard.tree) });
  }
}

/** Every entry of snapshot `snap`, walked from its top folder (walkTree). */
export function walkSnapshot(catalog: Catalog, snap: Pick<SnapshotRow, 'name' | 'rootTree'>): Generator<WalkedEntry> {
  return walkTree(catalog, TreeGuard.top(snap.name, snap.rootTree));
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
    ...(snap.rootXattrs.length > 0 ? { xattrs: snap.rootXattrs } : {}),
  };
  for (const part of parts) {
    if (entry.kind !== Kind.Dir || entry.subtree === undefined) return undefined;
    const next = catalog.treeEntry(entry.subtree, part);
    if (!next) return undefined;
    entry = next;
  }
  return entry;
}

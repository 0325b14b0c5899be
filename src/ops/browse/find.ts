/**
 * `snap find <root> <glob>`: which snapshots hold paths matching a glob.
 *
 * The glob (picomatch) is matched against each path relative to the snapshot top as printed by
 * linksnap (non-UTF-8 bytes and control characters appear as `\xNN`): `*` any characters but
 * `/`, `**` any number of folders, `?` one character, `[abc]`, `{jpg,png}`, `!(x)`. Dot files
 * match like any other. A glob without `/` is matched against the last component, so `*.jpg`
 * finds JPEGs at any depth; `docs/*.txt` matches only directly below the top folder `docs`.
 *
 * Cheap from the catalog: the static start of the glob (`photos/2024` in `photos/2024/**`) is
 * looked up instead of walked to, and each (tree, path) pair is matched once: snapshots that
 * share an unchanged folder share its result. Read-only: takes no lock.
 */
import picomatch from 'picomatch';
import { openRoot } from '../shared/root.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import { Kind, kindName } from '../../model/entry.js';
import { TreeGuard, lookupPath } from '../shared/snapshot-tree.js';
import { assertSafeName, joinPath, showName, splitRelative } from '../../util/paths.js';
import { SnapError } from '../../errors.js';

export interface FindMatch {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  /** The snapshots holding this path, oldest first. */
  snapshots: string[];
}

export interface FindResult {
  glob: string;
  matches: FindMatch[];
  /** Per snapshot that holds at least one match: how many. Oldest first. */
  snapshots: { name: string; matches: number }[];
  /** How many snapshots were searched. */
  searched: number;
}

interface Hit {
  rel: Buffer;
  kind: Kind;
}

export function findPaths(rootArg: string, glob: string): FindResult {
  if (!glob) throw new SnapError('USAGE', 'give a glob, e.g. "*.jpg" or "docs/**/report*"');
  let isMatch: (s: string) => boolean;
  try {
    isMatch = picomatch(glob, { dot: true, basename: !glob.includes('/') }); // (basename mangles globs with '/')
  } catch (e) {
    throw new SnapError('USAGE', `bad glob ${JSON.stringify(glob)}: ${(e as Error).message}`);
  }
  // Start below the glob's literal leading folders when they are plain text (no escapes).
  const scan = picomatch.scan(glob);
  // (A glob without '/' matches at any depth, so it has no such start.)
  const literal = !glob.includes('/') || scan.negated || glob.includes('\\') ? '' : scan.isGlob ? scan.base : glob;
  const base = literal;
  const baseParts = base ? splitRelative(Buffer.from(base)) : [];

  const root = openRoot(rootArg, { readonly: true });
  try {
    const { catalog } = root;
    const memo = new Map<string, Hit[]>();
    // Memoised per (tree, path): a subtree with a cycle anywhere below it throws on its first
    // walk (the guard sees the cycle whatever led there), so a memo hit never skips a check.
    const under = (guard: TreeGuard, prefix: Buffer): Hit[] => {
      const key = `${guard.tree}\0${prefix.toString('latin1')}`;
      const known = memo.get(key);
      if (known) return known;
      const hits: Hit[] = [];
      for (const e of catalog.treeEntriesPaged(guard.tree)) {
        assertSafeName(e.name, `tree ${guard.tree}`);
        const rel = joinPath(prefix, e.name);
        if (isMatch(showName(rel))) hits.push({ rel, kind: e.kind });
        if (e.kind === Kind.Dir && e.subtree !== undefined) hits.push(...under(guard.enter(e.subtree, rel), rel));
      }
      memo.set(key, hits);
      return hits;
    };
    const hitsIn = (s: SnapshotRow): Hit[] => {
      const start = lookupPath(catalog, s, baseParts);
      if (!start) return [];
      const startRel = Buffer.from(baseParts.map((p) => p.toString('latin1')).join('/'), 'latin1');
      const own: Hit[] = baseParts.length > 0 && isMatch(showName(startRel)) ? [{ rel: startRel, kind: start.kind }] : [];
      if (start.kind !== Kind.Dir || start.subtree === undefined) return own;
      return [...own, ...under(TreeGuard.top(s.name, start.subtree, baseParts.length), startRel)];
    };

    const snaps = catalog.listSnapshots().filter((s) => s.state === 'complete');
    const byPath = new Map<string, { rel: Buffer; kind: Kind; snapshots: string[] }>();
    const perSnap: { name: string; matches: number }[] = [];
    for (const s of snaps) {
      const hits = hitsIn(s);
      if (hits.length > 0) perSnap.push({ name: s.name, matches: hits.length });
      for (const h of hits) {
        // A path that changed kind between snapshots is listed once per kind.
        const k = `${h.kind}:${h.rel.toString('latin1')}`;
        let m = byPath.get(k);
        if (!m) byPath.set(k, (m = { rel: h.rel, kind: h.kind, snapshots: [] }));
        m.snapshots.push(s.name);
      }
    }
    const matches = [...byPath.values()]
      .sort((a, b) => Buffer.compare(a.rel, b.rel) || a.kind - b.kind)
      .map((m) => ({ path: showName(m.rel), kind: kindName(m.kind), snapshots: m.snapshots }));
    return { glob, matches, snapshots: perSnap, searched: snaps.length };
  } finally {
    root.close();
  }
}

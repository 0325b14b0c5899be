/**
 * `snap log <root> <path>`: the history of one path across the snapshots, oldest first — when
 * it appeared, each change (what changed, sizes before and after) and when it disappeared.
 *
 * From the catalog only, and fast: the path is looked up component by component in each
 * snapshot, and lookups are memoised per (tree id, depth). Snapshots share unchanged folders
 * (same Merkle tree), so a path in an unchanged part of the tree costs one cache hit per
 * snapshot. Read-only: takes no lock.
 */
import { openRoot } from '../shared/root.js';
import type { Catalog } from '../../catalog/catalog.js';
import { Kind, kindName, type Entry } from '../../model/entry.js';
import { showName, splitRelative, toBuf } from '../../util/paths.js';
import { SnapError } from '../../errors.js';

export type LogChange = 'kind' | 'content' | 'contents' | 'target' | 'mode' | 'owner' | 'mtime';

export interface LogEvent {
  snapshot: string;
  takenAt: string;
  event: 'appeared' | 'changed' | 'disappeared';
  /** The kind at this snapshot (the last kind seen, for 'disappeared'). */
  kind: 'file' | 'dir' | 'symlink';
  /** Files: size; symlinks: target length; folders: logical bytes below. Absent when disappeared. */
  size?: number;
  /** The size before a change, or at the last snapshot holding it (disappeared). */
  oldSize?: number;
  /** Folders: files below. */
  files?: number;
  changes?: LogChange[];
}

export interface LogResult {
  path: string;
  events: LogEvent[];
  /** How many snapshots hold the path, out of how many. */
  present: number;
  snapshots: number;
  /** Snapshot names that hold the path, oldest first. */
  presentIn: string[];
}

function sizeOf(catalog: Catalog, e: Entry): { size: number; files?: number } {
  if (e.kind !== Kind.Dir) return { size: e.size };
  const t = catalog.treeTotals(e.subtree!);
  return { size: t?.bytes ?? 0, files: t?.files ?? 0 };
}

function changesBetween(a: Entry, b: Entry): LogChange[] {
  if (a.kind !== b.kind) return ['kind'];
  const c: LogChange[] = [];
  if (a.kind === Kind.File && (a.size !== b.size || !a.hash!.equals(b.hash!))) c.push('content');
  if (a.kind === Kind.Symlink && !a.target!.equals(b.target!)) c.push('target');
  if (a.kind === Kind.Dir && a.subtree !== b.subtree) c.push('contents');
  if (a.kind !== Kind.Symlink && a.mode !== b.mode) c.push('mode');
  if (a.uid !== b.uid || a.gid !== b.gid) c.push('owner');
  // A folder's mtime moves with every change inside it: reported as 'contents' already.
  if (a.kind !== Kind.Dir && a.mtimeNs !== b.mtimeNs) c.push('mtime');
  return c;
}

export function pathLog(rootArg: string, relArg: string | Buffer): LogResult {
  const parts = splitRelative(toBuf(relArg));
  if (parts.length === 0) throw new SnapError('USAGE', 'give a path inside the snapshots, e.g. docs/report.txt', { hint: 'for the snapshots themselves: snap list <root>' });
  const shown = showName(Buffer.from(parts.map((p) => p.toString('latin1')).join('/'), 'latin1'));
  const root = openRoot(rootArg, { readonly: true });
  try {
    const { catalog } = root;
    // (tree id, depth) -> the entry found there, or null.
    const memo = new Map<string, Entry | null>();
    const lookup = (rootTree: number): Entry | undefined => {
      let tree = rootTree;
      let found: Entry | undefined;
      for (let depth = 0; depth < parts.length; depth++) {
        const key = `${tree}:${depth}`;
        let e = memo.get(key);
        if (e === undefined) {
          e = catalog.treeEntry(tree, parts[depth]!) ?? null;
          memo.set(key, e);
        }
        if (e === null) return undefined;
        found = e;
        if (depth < parts.length - 1) {
          if (e.kind !== Kind.Dir || e.subtree === undefined) return undefined;
          tree = e.subtree;
        }
      }
      return found;
    };

    const snaps = catalog.listSnapshots().filter((s) => s.state === 'complete');
    const events: LogEvent[] = [];
    const presentIn: string[] = [];
    let prev: Entry | undefined;
    for (const s of snaps) {
      const cur = lookup(s.rootTree);
      const base = { snapshot: s.name, takenAt: new Date(Number(s.takenNs / 1_000_000n)).toISOString() };
      if (cur) presentIn.push(s.name);
      if (cur && !prev) {
        events.push({ ...base, event: 'appeared', kind: kindName(cur.kind), ...sizeOf(catalog, cur) });
      } else if (!cur && prev) {
        events.push({ ...base, event: 'disappeared', kind: kindName(prev.kind), oldSize: sizeOf(catalog, prev).size });
      } else if (cur && prev) {
        const changes = changesBetween(prev, cur);
        if (changes.length > 0) {
          const now = sizeOf(catalog, cur);
          const before = sizeOf(catalog, prev).size;
          events.push({ ...base, event: 'changed', kind: kindName(cur.kind), ...now, ...(before !== now.size ? { oldSize: before } : {}), changes });
        }
      }
      prev = cur;
    }
    return { path: shown, events, present: presentIn.length, snapshots: snaps.length, presentIn };
  } finally {
    root.close();
  }
}

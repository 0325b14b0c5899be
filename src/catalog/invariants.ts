/**
 * The catalog's invariants, checked in one place: what `snap verify` reports as
 * catalog-integrity and catalog-invariant damage, and what `snap pull` requires of a replica's
 * catalog before it creates anything. A replica is untrusted input and a local catalog may be
 * damaged or tampered with, so everything that later becomes a path, a reference that is
 * followed, or an object file name is checked here:
 *
 *   - SQLite's own integrity_check (or quick_check);
 *   - every snapshot row, in every state: a dated-folder name, its root tree, sane metadata;
 *   - every entry of every tree: a safe name (isSafeName) stored as bytes, a known kind, sane
 *     metadata; a file has a content hash of the store's length, a folder a tree record, a
 *     symlink a target;
 *   - the folders as a graph: no cycle, and no snapshot deeper than the walkers accept;
 *   - every objects row: a key that names an object file (hash length, mode, owner), size and
 *     replicas in range.
 *
 * Whether every file's object row exists is the object check's business (verify's
 * check-objects.ts, with paths; replica-queries.ts filesWithoutObject for a replica).
 *
 * Cost: a few scans of the entries table in SQL, and the folder graph (one edge per folder
 * entry) in memory while cycles are looked for. At most MAX_LISTED problems of one kind are
 * listed.
 */
import type { Catalog } from './catalog.js';
import { Kind } from '../model/entry.js';
import { isSnapshotName } from '../model/snapshot-name.js';
import { isSafeName, showName } from '../util/paths.js';

export type CatalogProblemKind =
  | 'sqlite' // SQLite's integrity_check / quick_check
  | 'snapshot-name' // a snapshot name (any state) that is not YYYY-MM-DD_HH.MM.SS
  | 'snapshot-tree' // a snapshot row whose root tree record is missing
  | 'snapshot-row' // a snapshot row with an unknown state or metadata out of range
  | 'entry-type' // a name, hash or target not stored as bytes
  | 'entry-name' // an unsafe entry name (empty, `.`, `..`, `/`, NUL, over 255 bytes)
  | 'entry-kind' // an unknown entry kind
  | 'entry-meta' // mode, owner, mtime or size out of range
  | 'entry-file' // a file without a content hash of the right length
  | 'entry-dir' // a folder without a tree record
  | 'entry-symlink' // a symlink without a target
  | 'tree-cycle' // folders that contain themselves
  | 'tree-depth' // a snapshot nested deeper than the walkers accept
  | 'object-key'; // an objects row whose key or counts are malformed

export interface CatalogProblem {
  kind: CatalogProblemKind;
  /** One line, with the row it is about; names shown escaped (showName). */
  message: string;
  /** The snapshot row it is about (snapshot-*, tree-depth). */
  snapshot?: string;
  /** The tree holding the entry it is about (entry-*, tree-cycle). */
  tree?: number;
  /**
   * Snapshots (any state) whose folders hold it: their root trees reach `tree` through folder
   * entries with safe names. Empty for rows no snapshot reaches.
   */
  snapshots: string[];
}

export interface InvariantOptions {
  /** SQLite's check of the file: thorough, quick, or none when the caller already ran it. */
  sqlite: 'integrity' | 'quick' | 'none';
  /** Bytes of a content hash: the store's (BLAKE3), passed in by the caller that uses it. */
  hashBytes: number;
  /** Folder depth the walkers accept (ops/shared/snapshot-tree.ts); deeper is refused. */
  maxTreeDepth: number;
}

/** Problems of one kind listed at most; the rest are counted in one last problem of that kind. */
export const MAX_LISTED = 100;

/** Names isSafeName may refuse: empty, over 255 bytes, `.`, `..`, or holding `/` or NUL. */
export const MAYBE_UNSAFE_NAME = `length(name) = 0 OR length(name) > 255 OR name IN (x'2e', x'2e2e') OR instr(name, x'2f') > 0 OR instr(name, x'00') > 0`;

const MAX_UID = 0xffffffff;
const MAX_MODE = 0o7777;

class Problems {
  readonly list: CatalogProblem[] = [];
  private readonly counts = new Map<CatalogProblemKind, number>();

  add(p: Omit<CatalogProblem, 'snapshots'>): void {
    const n = (this.counts.get(p.kind) ?? 0) + 1;
    this.counts.set(p.kind, n);
    if (n <= MAX_LISTED) this.list.push({ ...p, snapshots: [] });
  }

  /** One summary problem per kind that had more than MAX_LISTED. */
  finish(): CatalogProblem[] {
    for (const [kind, n] of this.counts) {
      if (n > MAX_LISTED) this.list.push({ kind, message: `… and ${n - MAX_LISTED} more problems of this kind (${kind})`, snapshots: [] });
    }
    return this.list;
  }
}

function shown(v: unknown): string {
  if (Buffer.isBuffer(v)) return JSON.stringify(showName(v));
  if (typeof v === 'string') return JSON.stringify(showName(Buffer.from(v)));
  return `(${v === null ? 'null' : typeof v})`;
}

/** Every problem of the catalog, in a stable order (file, snapshots, entries, folders, objects). */
export function catalogInvariantProblems(catalog: Catalog, opts: InvariantOptions): CatalogProblem[] {
  const out = new Problems();
  if (opts.sqlite !== 'none') {
    for (const m of sqliteProblems(catalog, opts.sqlite === 'quick')) out.add({ kind: 'sqlite', message: m });
  }
  const roots = checkSnapshots(catalog, out);
  checkEntries(catalog, opts, out);
  const graph = folderGraph(catalog);
  checkFolders(graph, roots, opts.maxTreeDepth, out);
  checkObjects(catalog, opts.hashBytes, out);
  const problems = out.finish();
  attribute(problems, graph, roots);
  return problems;
}

/** SQLite's verdict on the catalog file: empty when 'ok'. */
function sqliteProblems(catalog: Catalog, quick: boolean): string[] {
  const rows = catalog.db.pragma(quick ? 'quick_check' : 'integrity_check') as Record<string, string>[];
  const msgs = rows.map((r) => String(Object.values(r)[0]));
  return msgs.length === 1 && msgs[0] === 'ok' ? [] : msgs;
}

/** Snapshot rows; returns root tree → names of the snapshots (with a tree record) starting there. */
function checkSnapshots(catalog: Catalog, out: Problems): Map<number, string[]> {
  const rows = catalog.db
    .prepare(
      `SELECT s.name, s.state, s.root_tree, t.id IS NOT NULL AS has_tree,
              typeof(s.root_tree) = 'integer' AND typeof(s.root_mode) = 'integer' AND s.root_mode BETWEEN 0 AND ${MAX_MODE}
              AND typeof(s.root_uid) = 'integer' AND s.root_uid BETWEEN 0 AND ${MAX_UID}
              AND typeof(s.root_gid) = 'integer' AND s.root_gid BETWEEN 0 AND ${MAX_UID}
              AND typeof(s.root_mtime_ns) = 'integer' AND typeof(s.taken_ns) = 'integer' AS meta_ok
       FROM snapshots s LEFT JOIN trees t ON t.id = s.root_tree ORDER BY s.taken_ns, s.id`,
    )
    .all() as { name: unknown; state: unknown; root_tree: number; has_tree: number; meta_ok: number }[];
  const roots = new Map<number, string[]>();
  for (const r of rows) {
    const name = typeof r.name === 'string' ? r.name : String(r.name);
    if (!isSnapshotName(r.name)) {
      out.add({ kind: 'snapshot-name', snapshot: name, message: `snapshot name ${shown(r.name)}${r.state === 'deleting' ? ' (being removed)' : ''} is not a dated-folder name (YYYY-MM-DD_HH.MM.SS)` });
    }
    if (r.state !== 'complete' && r.state !== 'deleting') out.add({ kind: 'snapshot-row', snapshot: name, message: `snapshot ${shown(r.name)} has the unknown state ${shown(r.state)}` });
    if (!r.meta_ok) out.add({ kind: 'snapshot-row', snapshot: name, message: `snapshot ${shown(r.name)} has a root tree, mode, owner or time out of range` });
    if (!r.has_tree) {
      out.add({ kind: 'snapshot-tree', snapshot: name, message: `snapshot ${shown(r.name)} has no root tree record` });
      continue;
    }
    const list = roots.get(r.root_tree) ?? [];
    list.push(name);
    roots.set(r.root_tree, list);
  }
  return roots;
}

/** Every entry row: storage types, kinds, metadata ranges and references in SQL; names in JS. */
function checkEntries(catalog: Catalog, opts: InvariantOptions, out: Problems): void {
  const db = catalog.db;
  const bad = db
    .prepare(
      `SELECT e.tree, e.name, e.kind, CASE
         WHEN typeof(e.name) != 'blob' THEN 'name'
         WHEN e.kind = ${Kind.File} AND e.hash IS NOT NULL AND typeof(e.hash) != 'blob' THEN 'hash'
         WHEN e.kind = ${Kind.Symlink} AND e.target IS NOT NULL AND typeof(e.target) != 'blob' THEN 'target'
         WHEN typeof(e.kind) != 'integer' OR e.kind NOT IN (${Kind.File}, ${Kind.Dir}, ${Kind.Symlink}) THEN 'kind'
         WHEN typeof(e.mode) != 'integer' OR e.mode NOT BETWEEN 0 AND ${MAX_MODE}
           OR typeof(e.uid) != 'integer' OR e.uid NOT BETWEEN 0 AND ${MAX_UID}
           OR typeof(e.gid) != 'integer' OR e.gid NOT BETWEEN 0 AND ${MAX_UID}
           OR typeof(e.mtime_ns) != 'integer' OR typeof(e.size) != 'integer' OR e.size < 0
           OR typeof(e.xattrs) != 'blob' OR length(e.xattrs) NOT IN (0, 32)
           OR (length(e.xattrs) = 32 AND NOT EXISTS (SELECT 1 FROM xattr_sets x WHERE x.digest = e.xattrs)) THEN 'meta'
         WHEN e.kind = ${Kind.File} AND (e.hash IS NULL OR length(e.hash) != ${opts.hashBytes}) THEN 'file'
         WHEN e.kind = ${Kind.Dir} AND t.id IS NULL THEN 'dir'
         WHEN e.kind = ${Kind.Symlink} AND (e.target IS NULL OR length(e.target) = 0) THEN 'symlink'
       END AS problem
       FROM entries e LEFT JOIN trees t ON t.id = e.subtree AND e.kind = ${Kind.Dir}
       WHERE problem IS NOT NULL`,
    )
    .all() as { tree: number; name: unknown; kind: unknown; problem: string }[];
  for (const r of bad) {
    const at = `entry ${shown(r.name)} of tree ${r.tree}`;
    const p = { tree: r.tree };
    switch (r.problem) {
      case 'name':
      case 'hash':
      case 'target':
        out.add({ ...p, kind: 'entry-type', message: `${at}: its ${r.problem} is not stored as bytes` });
        break;
      case 'kind':
        out.add({ ...p, kind: 'entry-kind', message: `${at}: unknown entry kind ${shown(r.kind)}` });
        break;
      case 'meta':
        out.add({ ...p, kind: 'entry-meta', message: `${at}: mode, owner, mtime, size or attribute digest out of range` });
        break;
      case 'file':
        out.add({ ...p, kind: 'entry-file', message: `${at}: a file without a valid content hash` });
        break;
      case 'dir':
        out.add({ ...p, kind: 'entry-dir', message: `${at}: a folder without a tree record` });
        break;
      default:
        out.add({ ...p, kind: 'entry-symlink', message: `${at}: a symlink without a target` });
    }
  }

  // The one rule every writer uses (isSafeName) decides; SQL only narrows a million names down to
  // those that could fail it (a superset: test/unit/catalog-invariants.test.ts checks that).
  const names = db.prepare(`SELECT tree, name FROM entries WHERE typeof(name) = 'blob' AND (${MAYBE_UNSAFE_NAME})`).raw(true).all() as [number, Buffer][];
  for (const [tree, name] of names) {
    if (!isSafeName(name)) out.add({ tree, kind: 'entry-name', message: `unsafe entry name ${shown(name)} in tree ${tree}` });
  }
}

/** The folder entries as edges parent → child tree; `safe` when the entry's name is. */
interface FolderGraph {
  children: Map<number, { child: number; safe: boolean }[]>;
  parents: Map<number, { parent: number; safe: boolean }[]>;
}

function folderGraph(catalog: Catalog): FolderGraph {
  const g: FolderGraph = { children: new Map(), parents: new Map() };
  const rows = catalog.db
    .prepare(`SELECT tree, subtree, name FROM entries WHERE kind = ${Kind.Dir} AND typeof(subtree) = 'integer'`)
    .raw(true)
    .iterate() as IterableIterator<[number, number, unknown]>;
  for (const [parent, child, name] of rows) {
    const safe = Buffer.isBuffer(name) && isSafeName(name);
    push(g.children, parent, { child, safe });
    push(g.parents, child, { parent, safe });
  }
  return g;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/**
 * Cycles anywhere in the folder graph (depth first, one colour per tree), and the height of every
 * snapshot's root: the deepest chain of folders below it, which the walkers cap.
 */
function checkFolders(g: FolderGraph, roots: Map<number, string[]>, maxDepth: number, out: Problems): void {
  const ON_PATH = 1;
  const DONE = 2;
  const state = new Map<number, number>();
  const height = new Map<number, number>();
  const visit = (start: number) => {
    const stack: { tree: number; next: number }[] = [{ tree: start, next: 0 }];
    state.set(start, ON_PATH);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const kids = g.children.get(top.tree) ?? [];
      if (top.next < kids.length) {
        const { child } = kids[top.next++]!;
        const s = state.get(child);
        if (s === ON_PATH) out.add({ kind: 'tree-cycle', tree: top.tree, message: `tree ${top.tree} holds tree ${child}, which contains it: a cycle of folders` });
        else if (s === undefined) {
          state.set(child, ON_PATH);
          stack.push({ tree: child, next: 0 });
        }
        continue;
      }
      let h = 1;
      for (const { child } of kids) if (state.get(child) === DONE) h = Math.max(h, 1 + height.get(child)!);
      height.set(top.tree, h);
      state.set(top.tree, DONE);
      stack.pop();
    }
  };
  for (const root of roots.keys()) if (!state.has(root)) visit(root);
  for (const tree of g.children.keys()) if (!state.has(tree)) visit(tree);
  for (const [root, names] of roots) {
    const h = height.get(root) ?? 1;
    if (h > maxDepth) {
      for (const name of names) out.add({ kind: 'tree-depth', snapshot: name, tree: root, message: `snapshot ${shown(name)} nests folders ${h} levels deep, more than ${maxDepth}` });
    }
  }
}

function checkObjects(catalog: Catalog, hashBytes: number, out: Problems): void {
  const rows = catalog.db
    .prepare(
      `SELECT hash, mode, uid, gid FROM objects
       WHERE typeof(hash) != 'blob' OR length(hash) != ${hashBytes}
         OR typeof(mode) != 'integer' OR mode NOT BETWEEN 0 AND ${MAX_MODE}
         OR typeof(uid) != 'integer' OR uid NOT BETWEEN 0 AND ${MAX_UID}
         OR typeof(gid) != 'integer' OR gid NOT BETWEEN 0 AND ${MAX_UID}
         OR typeof(mtime_us) != 'integer' OR typeof(size) != 'integer' OR size < 0
         OR typeof(replicas) != 'integer' OR replicas < 1
         OR typeof(xattrs) != 'blob' OR length(xattrs) NOT IN (0, 32)
         OR (length(xattrs) = 32 AND NOT EXISTS (SELECT 1 FROM xattr_sets x WHERE x.digest = objects.xattrs))`,
    )
    .all() as { hash: unknown; mode: unknown; uid: unknown; gid: unknown }[];
  for (const r of rows) {
    const hash = Buffer.isBuffer(r.hash) ? r.hash.toString('hex') : shown(r.hash);
    out.add({ kind: 'object-key', message: `objects row ${hash} (mode ${String(r.mode)}, owner ${String(r.uid)}:${String(r.gid)}): malformed key, size, replica count or attribute set` });
  }
}

/**
 * Fill `snapshots` of every problem in a tree: the snapshots whose root reaches it, going up
 * through folder entries with safe names (the ones a walk enters). Problems are few, and a
 * tree's ancestors are its parent folders in each snapshot version: a short walk up each.
 */
function attribute(problems: CatalogProblem[], g: FolderGraph, roots: Map<number, string[]>): void {
  const cache = new Map<number, string[]>();
  for (const p of problems) {
    if (p.snapshot !== undefined && p.tree === undefined) p.snapshots = [p.snapshot];
    if (p.tree === undefined) continue;
    let found = cache.get(p.tree);
    if (!found) {
      const names = new Set<string>();
      const seen = new Set([p.tree]);
      const queue = [p.tree];
      while (queue.length) {
        const t = queue.pop()!;
        for (const n of roots.get(t) ?? []) names.add(n);
        for (const { parent, safe } of g.parents.get(t) ?? []) {
          if (safe && !seen.has(parent)) {
            seen.add(parent);
            queue.push(parent);
          }
        }
      }
      found = [...names];
      cache.set(p.tree, found);
    }
    p.snapshots = found;
  }
}

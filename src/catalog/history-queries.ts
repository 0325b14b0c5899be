/**
 * Catalog queries for the everyday read-only commands (stats, log, find, diff): what snapshots
 * share and what each holds alone. Kept out of catalog.ts so that file stays the write path.
 */
import type { Catalog } from './catalog.js';
import { Kind } from '../model/entry.js';
import { xattrsOfKey, type ObjectKey } from '../model/object-key.js';
import { mtimeUsOf } from './sql.js';

/** Every folder edge (parent tree → child tree) in the catalog. One row per folder entry. */
export function treeEdges(catalog: Catalog): Map<number, number[]> {
  const edges = new Map<number, number[]>();
  const rows = catalog.db.prepare(`SELECT tree, subtree FROM entries WHERE subtree IS NOT NULL`).raw(true).all() as [number, number][];
  for (const [parent, child] of rows) {
    let l = edges.get(parent);
    if (!l) edges.set(parent, (l = []));
    l.push(child);
  }
  return edges;
}

/** Owner marker for a tree or object reached from more than one snapshot. */
export const SHARED = -1;

export interface ExclusiveUsage {
  /** snapshot id → objects only it references, and their stored bytes (all replicas). */
  bySnapshot: Map<number, { objects: number; bytes: number }>;
  /** Objects referenced by two or more snapshots. */
  shared: { objects: number; bytes: number };
}

/**
 * Which objects only one snapshot references — what pruning that snapshot alone would free.
 *
 * `treeOwner` maps every reachable tree to the one snapshot reaching it, or SHARED. An object is
 * exclusive to snapshot s when every tree naming it is owned by s. Done in SQL over the distinct
 * file entries (not snapshots × files): a temp table holds the tree owners, one GROUP BY finds
 * each object's owner, a second sums per owner.
 */
export function exclusiveUsage(catalog: Catalog, treeOwner: Map<number, number>): ExclusiveUsage {
  const db = catalog.db;
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS stats_tree_owner (tree INTEGER PRIMARY KEY, owner INTEGER NOT NULL)`);
  db.exec(`DELETE FROM stats_tree_owner`);
  const ins = db.prepare(`INSERT INTO stats_tree_owner (tree, owner) VALUES (?, ?)`);
  db.transaction(() => {
    for (const [tree, owner] of treeOwner) ins.run(tree, owner);
  })();
  const rows = db
    .prepare(
      `WITH obj AS (
         SELECT e.hash AS hash, e.mode AS mode, e.uid AS uid, e.gid AS gid,
                ${mtimeUsOf('e')} AS mtime_us, e.xattrs AS xattrs,
                CASE WHEN min(t.owner) = max(t.owner) THEN min(t.owner) ELSE ${SHARED} END AS owner
         FROM entries e JOIN stats_tree_owner t ON t.tree = e.tree
         WHERE e.kind = ${Kind.File}
         GROUP BY 1, 2, 3, 4, 5, 6)
       SELECT obj.owner AS owner, count(*) AS n, coalesce(sum(o.size * o.replicas), 0) AS bytes
       FROM obj JOIN objects o ON o.hash = obj.hash AND o.mode = obj.mode AND o.uid = obj.uid
         AND o.gid = obj.gid AND o.mtime_us = obj.mtime_us AND o.xattrs = obj.xattrs
       GROUP BY obj.owner`,
    )
    .safeIntegers(true)
    .all() as { owner: bigint; n: bigint; bytes: bigint }[];
  db.exec(`DELETE FROM stats_tree_owner`);
  const bySnapshot = new Map<number, { objects: number; bytes: number }>();
  let shared = { objects: 0, bytes: 0 };
  for (const r of rows) {
    const v = { objects: Number(r.n), bytes: Number(r.bytes) };
    if (Number(r.owner) === SHARED) shared = v;
    else bySnapshot.set(Number(r.owner), v);
  }
  return { bySnapshot, shared };
}

/** Store totals from the objects table: inodes (with replicas), distinct contents, bytes. */
export function storeTotals(catalog: Catalog): { objects: number; replicas: number; contents: number; bytes: number; contentBytes: number } {
  const r = catalog.db
    .prepare(
      `SELECT count(*) AS objects, coalesce(sum(replicas), 0) AS replicas, coalesce(sum(size * replicas), 0) AS bytes,
         (SELECT count(*) FROM (SELECT DISTINCT hash FROM objects)) AS contents,
         (SELECT coalesce(sum(size), 0) FROM (SELECT hash, max(size) AS size FROM objects GROUP BY hash)) AS content_bytes
       FROM objects`,
    )
    .safeIntegers(true)
    .get() as Record<string, bigint>;
  return {
    objects: Number(r.objects),
    replicas: Number(r.replicas),
    contents: Number(r.contents),
    bytes: Number(r.bytes),
    contentBytes: Number(r.content_bytes),
  };
}

/**
 * Up to `limit` snapshot paths whose file entry names this object (its content and metadata),
 * as [snapshot name, path bytes relative to the snapshot] — walked upward from the entries to
 * the snapshots' root trees. Only for reports (a damaged object found by a take): it reads the
 * whole entries table.
 */
export function objectPaths(catalog: Catalog, key: ObjectKey, limit = 20): { snapshot: string; rel: Buffer }[] {
  const rows = catalog.db
    .prepare(
      `WITH RECURSIVE up(tree, path, depth) AS (
         SELECT e.tree, e.name, 0 FROM entries e
         WHERE e.kind = ${Kind.File} AND e.hash = ? AND e.mode = ? AND e.uid = ? AND e.gid = ? AND ${mtimeUsOf('e')} = ? AND e.xattrs = ?
         UNION ALL
         SELECT p.tree, CAST(p.name || x'2f' || up.path AS BLOB), up.depth + 1
         FROM entries p JOIN up ON p.subtree = up.tree
         WHERE p.kind = ${Kind.Dir} AND up.depth < 2048)
       SELECT s.name AS snapshot, CAST(up.path AS BLOB) AS rel FROM up JOIN snapshots s ON s.root_tree = up.tree
       WHERE s.state = 'complete' ORDER BY s.taken_ns LIMIT ?`,
    )
    .safeIntegers(true)
    .all(key.hash, key.mode, key.uid, key.gid, key.mtimeUs, xattrsOfKey(key), limit) as { snapshot: string; rel: Buffer }[];
  return rows;
}

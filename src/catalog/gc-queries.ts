/**
 * gc's incremental mark, after snapshots were removed (take's rotation). Only the trees that the
 * removed snapshots alone reached can reference objects that just became garbage: those "dead"
 * trees are found from the removed roots (Catalog.removedRoots), stopping at any live tree; their
 * file entries are the candidates; a candidate that a live tree still references stays. Cost:
 * one read of the live trees' entries (the tree mark and one probe), writes only for what dies,
 * instead of copying every live reference into a temp table as the full mark does
 * (Catalog.unreferencedObjects, which `snap gc`, prune and a take after a crash still use).
 *
 * Safety does not depend on the roots being complete or even right: nothing a live tree
 * references is ever a candidate that survives the last step.
 */
import { toObjectRow, type Catalog, type ObjectRow } from './catalog.js';
import { Kind } from '../model/entry.js';
import { mtimeUsOf } from './sql.js';

/** Fill the temp table gc_dead with the trees only `roots` reach; returns how many. */
function markDeadTrees(catalog: Catalog, roots: readonly number[]): number {
  const db = catalog.db;
  catalog.markLiveTrees();
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS gc_roots (id INTEGER PRIMARY KEY)`);
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS gc_dead (id INTEGER PRIMARY KEY)`);
  db.exec(`DELETE FROM gc_roots; DELETE FROM gc_dead;`);
  const ins = db.prepare(`INSERT OR IGNORE INTO gc_roots (id) VALUES (?)`);
  for (const t of roots) ins.run(t);
  // A live tree's subtrees are all live: the walk stops there, so an old snapshot that shares
  // almost everything with the kept ones costs only what it does not share.
  db.exec(`INSERT INTO gc_dead (id)
    WITH RECURSIVE reach(id) AS (
      SELECT g.id FROM gc_roots g JOIN trees t ON t.id = g.id WHERE g.id NOT IN (SELECT id FROM live_trees)
      UNION
      SELECT e.subtree FROM entries e JOIN reach r ON e.tree = r.id
      WHERE e.subtree IS NOT NULL AND e.subtree NOT IN (SELECT id FROM live_trees))
    SELECT id FROM reach`);
  return Number(db.prepare(`SELECT count(*) FROM gc_dead`).pluck().get());
}

/**
 * The objects that became garbage when the snapshots with root trees `roots` were removed. Leaves
 * the dead trees in gc_dead for deleteDeadTrees.
 */
export function unreferencedAfterRemoval(catalog: Catalog, roots: readonly number[]): ObjectRow[] {
  const db = catalog.db;
  const dead = markDeadTrees(catalog, roots);
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS gc_candidates (
    hash BLOB, mode INTEGER, uid INTEGER, gid INTEGER, mtime_us INTEGER, xattrs BLOB,
    PRIMARY KEY (hash, mode, uid, gid, mtime_us, xattrs)) WITHOUT ROWID`);
  db.exec(`DELETE FROM gc_candidates`);
  if (dead === 0) return [];
  db.exec(`INSERT OR IGNORE INTO gc_candidates
    SELECT e.hash, e.mode, e.uid, e.gid, ${mtimeUsOf('e')}, e.xattrs
    FROM entries e JOIN gc_dead d ON e.tree = d.id WHERE e.kind = ${Kind.File}`);
  db.exec(`DELETE FROM gc_candidates WHERE (hash, mode, uid, gid, mtime_us, xattrs) IN (
    SELECT e.hash, e.mode, e.uid, e.gid, ${mtimeUsOf('e')}, e.xattrs
    FROM entries e JOIN live_trees l ON l.id = e.tree
    WHERE e.kind = ${Kind.File} AND e.hash IN (SELECT hash FROM gc_candidates))`);
  const rows = db
    .prepare(
      `SELECT o.hash, o.mode, o.uid, o.gid, o.mtime_us, o.xattrs, o.size, o.replicas, o.verified_ns
       FROM gc_candidates c JOIN objects o
         ON o.hash = c.hash AND o.mode = c.mode AND o.uid = c.uid AND o.gid = c.gid AND o.mtime_us = c.mtime_us AND o.xattrs = c.xattrs`,
    )
    .safeIntegers(true)
    .all() as Record<string, bigint | Buffer | null>[];
  db.exec(`DELETE FROM gc_candidates`);
  return rows.map(toObjectRow);
}

/** Delete the trees unreferencedAfterRemoval found dead, with their entries; returns how many. */
export function deleteDeadTrees(catalog: Catalog): number {
  const db = catalog.db;
  db.exec(`DELETE FROM entries WHERE tree IN (SELECT id FROM gc_dead)`);
  const n = db.prepare(`DELETE FROM trees WHERE id IN (SELECT id FROM gc_dead)`).run().changes;
  db.exec(`DELETE FROM gc_dead; DELETE FROM gc_roots; DELETE FROM live_trees;`);
  return n;
}

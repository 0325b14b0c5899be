/**
 * Catalog queries for retention: what a prune would free, without changing anything (so that
 * `snap prune --dry-run` can run on a read-only connection).
 */
import type { Catalog } from './catalog.js';
import { Kind } from '../model/entry.js';
import { mtimeUsOf } from './sql.js';

/**
 * Objects that no snapshot except those in `removing` references: what gc frees once they are
 * gone (including garbage that is already unreferenced). Bytes count every replica.
 */
export function unreferencedAfterRemoving(catalog: Catalog, removing: readonly string[]): { objects: number; bytes: number } {
  const r = catalog.db
    .prepare(
      `WITH RECURSIVE reach(id) AS (
         SELECT root_tree FROM snapshots WHERE name NOT IN (SELECT value FROM json_each(?))
         UNION
         SELECT e.subtree FROM entries e JOIN reach r ON e.tree = r.id WHERE e.subtree IS NOT NULL)
       SELECT count(*) AS n, coalesce(sum(o.size * o.replicas), 0) AS b FROM objects o
       WHERE (o.hash, o.mode, o.uid, o.gid, o.mtime_us, o.xattrs) NOT IN (
         SELECT e.hash, e.mode, e.uid, e.gid, ${mtimeUsOf('e')}, e.xattrs
         FROM entries e WHERE e.kind = ${Kind.File} AND e.tree IN (SELECT id FROM reach))`,
    )
    .safeIntegers(true)
    .get(JSON.stringify(removing)) as { n: bigint; b: bigint };
  return { objects: Number(r.n), bytes: Number(r.b) };
}

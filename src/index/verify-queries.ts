/**
 * Catalog queries for `snap verify`, `--repair` and `snap materialize`: the catalog's own
 * invariants, the set of objects the live snapshots reference, where intact copies of a content
 * may be found, and the rolling "last verified" time of each object (for --sample).
 *
 * Every statement that reads ns timestamps or inode numbers uses safeIntegers (they exceed 2^53).
 */
import type { Catalog } from './catalog.js';
import { Kind } from '../model/entry.js';

/** mtime_us = floor(mtime_ns / 1000), also for negative (pre-1970) times; as in catalog.ts. */
const MTIME_US = `(e.mtime_ns - ((e.mtime_ns % 1000) + 1000) % 1000) / 1000`;

/** The catalog file's own health: integrity_check (thorough) or quick_check (--quick). */
export function catalogFileProblems(catalog: Catalog, quick: boolean): string[] {
  const rows = catalog.db.pragma(quick ? 'quick_check' : 'integrity_check') as Record<string, string>[];
  const msgs = rows.map((r) => String(Object.values(r)[0]));
  return msgs.length === 1 && msgs[0] === 'ok' ? [] : msgs;
}

/**
 * Begin a read transaction on a connection that only reads: every query until endRead() sees
 * one consistent state of the catalog (WAL), while takes and prunes go on committing.
 */
export function beginRead(catalog: Catalog): void {
  if (!catalog.db.inTransaction) catalog.db.exec('BEGIN DEFERRED');
}

export function endRead(catalog: Catalog): void {
  if (catalog.db.inTransaction) catalog.db.exec('COMMIT');
}

/** Snapshot rows whose root tree record does not exist. */
export function snapshotsWithoutRootTree(catalog: Catalog): string[] {
  return (catalog.db.prepare(`SELECT name FROM snapshots WHERE root_tree NOT IN (SELECT id FROM trees)`).all() as { name: string }[]).map(
    (r) => r.name,
  );
}

/** Entry rows whose tree does not exist: harmless garbage (gc deletes them), reported as info. */
export function danglingEntryCount(catalog: Catalog): number {
  const r = catalog.db.prepare(`SELECT count(*) AS n FROM entries WHERE tree NOT IN (SELECT id FROM trees)`).get() as { n: number };
  return Number(r.n);
}

export interface ReferencedObject {
  hash: Buffer;
  mode: number;
  uid: number;
  gid: number;
  mtimeUs: bigint;
  /** The size the entries record. */
  entrySize: number;
  /** From the objects row; undefined when the row is missing (a broken invariant). */
  row?: { size: number; replicas: number; verifiedNs: bigint | null };
}

/**
 * The distinct objects (hash, mode, uid, gid, mtime µs) that the file entries of every tree
 * reachable from `rootTrees` reference, with their objects row. Trees are shared between
 * snapshots (Merkle), so this reads each distinct tree once; UNION makes a cyclic (tampered)
 * catalog terminate.
 */
export function referencedObjects(catalog: Catalog, rootTrees: readonly number[]): ReferencedObject[] {
  const db = catalog.db;
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS verify_roots (id INTEGER PRIMARY KEY)`);
  db.exec(`DELETE FROM verify_roots`);
  const ins = db.prepare(`INSERT OR IGNORE INTO verify_roots (id) VALUES (?)`);
  for (const t of rootTrees) ins.run(t);
  const rows = db
    .prepare(
      `WITH RECURSIVE reach(id) AS (
         SELECT id FROM verify_roots
         UNION
         SELECT e.subtree FROM entries e JOIN reach r ON e.tree = r.id WHERE e.kind = ${Kind.Dir} AND e.subtree IS NOT NULL),
       refs AS (
         SELECT DISTINCT e.hash AS hash, e.mode AS mode, e.uid AS uid, e.gid AS gid, ${MTIME_US} AS mtime_us, max(e.size) AS size
         FROM entries e JOIN reach r ON e.tree = r.id
         WHERE e.kind = ${Kind.File} AND e.hash IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5)
       SELECT refs.hash, refs.mode, refs.uid, refs.gid, refs.mtime_us, refs.size,
              o.size AS osize, o.replicas, o.verified_ns, o.hash IS NOT NULL AS known
       FROM refs LEFT JOIN objects o
         ON o.hash = refs.hash AND o.mode = refs.mode AND o.uid = refs.uid AND o.gid = refs.gid AND o.mtime_us = refs.mtime_us`,
    )
    .safeIntegers(true)
    .all() as Record<string, bigint | Buffer | null>[];
  db.exec(`DELETE FROM verify_roots`);
  return rows.map((r) => {
    const o: ReferencedObject = {
      hash: r.hash as Buffer,
      mode: Number(r.mode),
      uid: Number(r.uid),
      gid: Number(r.gid),
      mtimeUs: r.mtime_us as bigint,
      entrySize: Number(r.size),
    };
    if (Number(r.known) === 1) {
      o.row = { size: Number(r.osize), replicas: Number(r.replicas), verifiedNs: r.verified_ns as bigint | null };
    }
    return o;
  });
}

/** Every objects row with this content hash (the metadata variants of one content). */
export function objectsWithHash(catalog: Catalog, hash: Buffer): { mode: number; uid: number; gid: number; mtimeUs: bigint; size: number; replicas: number }[] {
  return (
    catalog.db
      .prepare(`SELECT mode, uid, gid, mtime_us, size, replicas FROM objects WHERE hash = ?`)
      .safeIntegers(true)
      .all(hash) as Record<string, bigint>[]
  ).map((r) => ({
    mode: Number(r.mode),
    uid: Number(r.uid),
    gid: Number(r.gid),
    mtimeUs: r.mtime_us!,
    size: Number(r.size),
    replicas: Number(r.replicas),
  }));
}

/** Source paths (relative to .latest) that held this content when they were last hashed. */
export function statCachePathsWithHash(catalog: Catalog, hash: Buffer, limit = 50): { dir: Buffer; name: Buffer }[] {
  return catalog.db.prepare(`SELECT dir, name FROM stat_cache WHERE hash = ? LIMIT ?`).all(hash, limit) as { dir: Buffer; name: Buffer }[];
}

/** Record that these objects were read and hashed clean at `ns` (one transaction). */
export function markObjectsVerified(
  catalog: Catalog,
  keys: readonly { hash: Buffer; mode: number; uid: number; gid: number; mtimeUs: bigint }[],
  ns: bigint,
): void {
  const st = catalog.db.prepare(`UPDATE objects SET verified_ns = ? WHERE hash = ? AND mode = ? AND uid = ? AND gid = ? AND mtime_us = ?`);
  catalog.transaction(() => {
    for (const k of keys) st.run(ns, k.hash, k.mode, k.uid, k.gid, k.mtimeUs);
  });
}


/**
 * Catalog queries for `snap verify`, `--repair` and `snap materialize`: the set of objects the
 * live snapshots reference, where intact copies of a content may be found, and the rolling "last
 * verified" time of each object (for --sample). The catalog's own invariants are invariants.ts.
 *
 * Every statement that reads ns timestamps or inode numbers uses safeIntegers (they exceed 2^53).
 */
import { toObjectRow, xattrsField, type Catalog, type ObjectRow } from './catalog.js';
import { Kind } from '../model/entry.js';
import { xattrsOfKey } from '../model/object-key.js';
import { extraParts, readRecord, recordOffsets } from '../model/quick-check.js';
import { mtimeUsOf } from './sql.js';
import type { Statement } from './sqlite.js';


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

/**
 * The objects rows whose hash starts with the byte `first` (one fan-out folder's worth), read
 * by a range of the primary key: verify compares a fan-out folder's files with these in one
 * query instead of one lookup per file.
 */
export function objectsWithFirstByte(catalog: Catalog, first: number): ObjectRow[] {
  const where = first < 255 ? 'hash >= ? AND hash < ?' : 'hash >= ?';
  const args = first < 255 ? [Buffer.from([first]), Buffer.from([first + 1])] : [Buffer.from([first])];
  const rows = catalog.db
    .prepare(`SELECT hash, mode, uid, gid, mtime_us, xattrs, size, replicas, verified_ns FROM objects WHERE ${where}`)
    .safeIntegers(true)
    .all(...args) as Record<string, bigint | Buffer | null>[];
  return rows.map(toObjectRow);
}

/** Entry rows whose tree does not exist: harmless garbage (gc deletes them), reported as info. */
export function danglingEntryCount(catalog: Catalog): number {
  const r = catalog.db.prepare(`SELECT count(*) AS n FROM entries WHERE tree NOT IN (SELECT id FROM trees)`).get() as { n: number };
  return Number(r.n);
}

export interface ReferencedObject {
  /** Its row in verify_refs: the folder walk finds a file's object by it (folderEntriesPage). */
  rid: number;
  hash: Buffer;
  mode: number;
  uid: number;
  gid: number;
  mtimeUs: bigint;
  /** The extended-attribute digest of the object (absent: none). */
  xattrs?: Buffer;
  /** The size the entries record. */
  entrySize: number;
  /** Chosen by markSample (for --sample). */
  sampled?: boolean;
  /** From the objects row; undefined when the row is missing (a broken invariant). */
  row?: { size: number; replicas: number; verifiedNs: bigint | null };
}

/**
 * Stage the distinct objects (hash, mode, uid, gid, mtime µs) that the file entries of every
 * tree reachable from `rootTrees` reference, with their objects row, in the TEMP table
 * verify_refs; returns how many. Callers read it back in pages (referencedPage), so memory does
 * not grow with the store: at a million objects a materialised list cost ~700 MB of heap.
 * Trees are shared between snapshots (Merkle), so each distinct tree is read once; UNION makes a
 * cyclic (tampered) catalog terminate. A hash not stored as bytes is no object name (it could
 * spell a path): such entries are left to the invariant check (invariants.ts, entry-type).
 * Temp tables spill to a file (sqlite.ts sets temp_store).
 */
export function stageReferencedObjects(catalog: Catalog, rootTrees: readonly number[]): number {
  const db = catalog.db;
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS verify_roots (id INTEGER PRIMARY KEY)`);
  db.exec(`DELETE FROM verify_roots`);
  db.exec(`DROP TABLE IF EXISTS temp.verify_refs`);
  db.exec(`CREATE TEMP TABLE verify_refs (
    rid INTEGER PRIMARY KEY, hash BLOB, mode INTEGER, uid INTEGER, gid INTEGER, mtime_us INTEGER, xattrs BLOB,
    size INTEGER, osize INTEGER, replicas INTEGER, verified_ns INTEGER, known INTEGER, sampled INTEGER NOT NULL DEFAULT 0)`);
  const ins = db.prepare(`INSERT OR IGNORE INTO verify_roots (id) VALUES (?)`);
  for (const t of rootTrees) ins.run(t);
  db.exec(
    `INSERT INTO verify_refs (hash, mode, uid, gid, mtime_us, xattrs, size, osize, replicas, verified_ns, known)
     WITH RECURSIVE reach(id) AS (
       SELECT id FROM verify_roots
       UNION
       SELECT e.subtree FROM entries e JOIN reach r ON e.tree = r.id WHERE e.kind = ${Kind.Dir} AND e.subtree IS NOT NULL),
     refs AS (
       SELECT e.hash AS hash, e.mode AS mode, e.uid AS uid, e.gid AS gid, ${mtimeUsOf('e')} AS mtime_us, e.xattrs AS xattrs, max(e.size) AS size
       FROM entries e JOIN reach r ON e.tree = r.id
       WHERE e.kind = ${Kind.File} AND typeof(e.hash) = 'blob'
       GROUP BY 1, 2, 3, 4, 5, 6)
     SELECT refs.hash, refs.mode, refs.uid, refs.gid, refs.mtime_us, refs.xattrs, refs.size,
            o.size, o.replicas, o.verified_ns, o.hash IS NOT NULL
     FROM refs LEFT JOIN objects o
       ON o.hash = refs.hash AND o.mode = refs.mode AND o.uid = refs.uid AND o.gid = refs.gid AND o.mtime_us = refs.mtime_us AND o.xattrs = refs.xattrs`,
  );
  db.exec(`DELETE FROM verify_roots`);
  // The folder walk looks up each file entry's object row by its key (folderEntriesPage).
  db.exec(`CREATE INDEX temp.verify_refs_key ON verify_refs (hash, mode, uid, gid, mtime_us, xattrs)`);
  return Number((db.prepare(`SELECT count(*) FROM verify_refs`).pluck().safeIntegers(true).get() as bigint) ?? 0n);
}

/** Bytes the staged objects occupy (all replicas), counting only `sampled` ones when asked. */
export function stagedBytes(catalog: Catalog, onlySampled: boolean): number {
  const v = catalog.db
    .prepare(`SELECT coalesce(sum(osize * replicas), 0) FROM verify_refs WHERE known${onlySampled ? ' AND sampled' : ''}`)
    .pluck()
    .safeIntegers(true)
    .get() as bigint;
  return Number(v);
}

/** Mark the share `percent` of the staged objects that were verified longest ago (never: first). */
export function markSample(catalog: Catalog, percent: number): void {
  const db = catalog.db;
  const known = Number(db.prepare(`SELECT count(*) FROM verify_refs WHERE known`).pluck().safeIntegers(true).get() as bigint);
  const n = Math.min(known, Math.ceil((known * percent) / 100));
  db.prepare(
    `UPDATE verify_refs SET sampled = 1 WHERE rid IN (
       SELECT rid FROM verify_refs WHERE known ORDER BY verified_ns IS NOT NULL, verified_ns, rid LIMIT ?)`,
  ).run(n);
}

/** One page of the staged objects, in rid order after `afterRid`. */
export function referencedPage(catalog: Catalog, afterRid: number, limit: number): { rid: number; ref: ReferencedObject }[] {
  const rows = catalog.db
    .prepare(
      `SELECT rid, hash, mode, uid, gid, mtime_us, size, osize, replicas, verified_ns, known, sampled, xattrs
       FROM verify_refs WHERE rid > ? ORDER BY rid LIMIT ?`,
    )
    .raw(true)
    .safeIntegers(true)
    .all(afterRid, limit) as [bigint, Buffer, bigint, bigint, bigint, bigint, bigint, bigint | null, bigint | null, bigint | null, bigint, bigint, Buffer][];
  return rows.map((r) => {
    const ref: ReferencedObject = { rid: Number(r[0]), hash: r[1], mode: Number(r[2]), uid: Number(r[3]), gid: Number(r[4]), mtimeUs: r[5], entrySize: Number(r[6]), sampled: r[11] === 1n, ...xattrsField(r[12]) };
    if (r[10] === 1n) ref.row = { size: Number(r[7]), replicas: Number(r[8]), verifiedNs: r[9] };
    return { rid: Number(r[0]), ref };
  });
}

/**
 * One row of a tree as the folder walk of verify reads it (a raw array, no object per field;
 * integers as numbers: the mtime is in µs, which stays exact as a double until the year 2255, and
 * out-of-range values are the invariant check's to report).
 */
export type FolderEntryRow = [
  name: Buffer,
  kind: number,
  mode: number,
  uid: number,
  gid: number,
  mtimeUs: number,
  size: number,
  /** Files: 1 when the hash is a BLOB of `hashBytes` (an object name). */
  hashOk: number | null,
  target: Buffer | null,
  subtree: number | null,
  /** Folders: 1 when the subtree has its tree record. */
  hasTree: number | null,
  /** Files: the rid of its object in verify_refs (stageReferencedObjects), null when not staged. */
  rid: number | null,
  /** Files and folders: the digest of its extended attributes (empty: none). */
  xattrs: Buffer,
];
export const ROW = { name: 0, kind: 1, mode: 2, uid: 3, gid: 4, mtimeUs: 5, size: 6, hashOk: 7, target: 8, subtree: 9, hasTree: 10, rid: 11, xattrs: 12 } as const;

const pageStatements = new WeakMap<Catalog, { first: Statement; after: Statement }>();

/**
 * Up to `limit` entries of a tree, in byte order of their names, after `after` (from the first
 * when undefined): a big folder is read a page at a time. Each file's object row in verify_refs
 * and each folder's tree record are looked up by SQLite in the same query.
 */
export function folderEntriesPage(catalog: Catalog, hashBytes: number, tree: number, after: Buffer | undefined, limit: number): FolderEntryRow[] {
  let st = pageStatements.get(catalog);
  if (!st) {
    const sql = (where: string) =>
      catalog.db
        .prepare(
          `SELECT e.name, e.kind, e.mode, e.uid, e.gid, ${mtimeUsOf('e')}, e.size,
                  CASE WHEN e.kind = ${Kind.File} THEN typeof(e.hash) = 'blob' AND length(e.hash) = @hashBytes END,
                  e.target, e.subtree, CASE WHEN e.kind = ${Kind.Dir} THEN t.id IS NOT NULL END, r.rid, e.xattrs
           FROM entries e
           LEFT JOIN trees t ON e.kind = ${Kind.Dir} AND t.id = e.subtree
           LEFT JOIN verify_refs r ON e.kind = ${Kind.File}
             AND r.hash = e.hash AND r.mode = e.mode AND r.uid = e.uid AND r.gid = e.gid AND r.mtime_us = ${mtimeUsOf('e')} AND r.xattrs = e.xattrs
           WHERE e.tree = @tree ${where} ORDER BY e.name LIMIT @limit`,
        )
        .raw(true);
    st = { first: sql(''), after: sql('AND e.name > @after') };
    pageStatements.set(catalog, st);
  }
  const rows = after === undefined ? st.first.all({ tree, limit, hashBytes }) : st.after.all({ tree, after, limit, hashBytes });
  return rows as FolderEntryRow[];
}

/** Every objects row with this content hash (the metadata variants of one content). */
export function objectsWithHash(
  catalog: Catalog,
  hash: Buffer,
): { mode: number; uid: number; gid: number; mtimeUs: bigint; xattrs?: Buffer; size: number; replicas: number }[] {
  return (
    catalog.db
      .prepare(`SELECT mode, uid, gid, mtime_us, xattrs, size, replicas FROM objects WHERE hash = ?`)
      .safeIntegers(true)
      .all(hash) as Record<string, bigint>[]
  ).map((r) => ({
    mode: Number(r.mode),
    uid: Number(r.uid),
    gid: Number(r.gid),
    mtimeUs: r.mtime_us!,
    ...xattrsField(r.xattrs as unknown as Buffer),
    size: Number(r.size),
    replicas: Number(r.replicas),
  }));
}

/**
 * Source paths (relative to .latest) that held this content when they were last hashed: a scan
 * of every folder's quick-check records, which only repair does, and only for damaged content.
 */
export function sourcePathsWithHash(catalog: Catalog, hash: Buffer, limit = 50): { dir: Buffer; name: Buffer }[] {
  const out: { dir: Buffer; name: Buffer }[] = [];
  for (const row of catalog.allQuickCheck()) {
    const offs = recordOffsets(row.records);
    for (let i = 0; i + 1 < offs.length; i++) {
      const r = readRecord(row.records, offs[i]!);
      if (r.kind === Kind.File && extraParts(r.extra).id.equals(hash)) out.push({ dir: row.dir, name: r.name });
      if (out.length >= limit) return out;
    }
  }
  return out;
}

/** Record that these objects were read and hashed clean at `ns` (one transaction). */
export function markObjectsVerified(
  catalog: Catalog,
  keys: Iterable<{ hash: Buffer; mode: number; uid: number; gid: number; mtimeUs: bigint; xattrs?: Buffer }>,
  ns: bigint,
): void {
  const st = catalog.db.prepare(`UPDATE objects SET verified_ns = ? WHERE hash = ? AND mode = ? AND uid = ? AND gid = ? AND mtime_us = ? AND xattrs = ?`);
  catalog.transaction(() => {
    for (const k of keys) st.run(ns, k.hash, k.mode, k.uid, k.gid, k.mtimeUs, xattrsOfKey(k));
  });
}


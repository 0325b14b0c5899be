/**
 * Catalog queries for offsite replicas (src/ops/replica/push.ts, pull.ts, replica-verify.ts): a
 * consistent copy of the catalog, the content hashes it references, and fitting a copy for the
 * bucket or for a new machine.
 */
import { xattrsField, type Catalog } from './catalog.js';
import { openDatabase, integrityCheck } from './sqlite.js';
import { SCHEMA_VERSION } from './schema.js';
import { Kind } from '../model/entry.js';
import { mtimeUsOf } from './sql.js';

/** A consistent copy of the whole catalog in `file` (which must not exist), in one read transaction. */
export function vacuumInto(catalog: Catalog, file: string): void {
  catalog.db.prepare('VACUUM INTO ?').run(file);
}

/**
 * Fit a copy for the bucket: the quick-check cache describes the source machine's files (its
 * inode numbers) and is useless anywhere else, and local verify times say nothing about the
 * replica. Then compact it and leave it in rollback-journal mode (one self-contained file).
 */
export function scrubCopyForReplica(file: string): void {
  const db = openDatabase(file);
  try {
    db.exec('DELETE FROM quick_check; UPDATE objects SET verified_ns = NULL; UPDATE snapshots SET folder_boot = NULL;');
    db.exec('VACUUM');
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

/**
 * Fit a pulled catalog for this machine: link-limit replicas are made again as needed on this
 * file system (so every object starts with one inode), nothing has been verified here yet, and
 * the quick-check cache of the source machine must not be trusted for local files.
 */
export function resetForLocalStore(catalog: Catalog): void {
  catalog.db.exec('UPDATE objects SET replicas = 1, verified_ns = NULL; DELETE FROM quick_check; UPDATE snapshots SET folder_boot = NULL;');
}

/** Leave the catalog file self-contained (no -wal) so it can be renamed into place. */
export function checkpointToSingleFile(catalog: Catalog): void {
  catalog.db.pragma('journal_mode = DELETE');
}

export interface ContentRow {
  hex: string;
  size: number;
}

/** Every content hash the objects table names, once, with its size. */
export function distinctContents(catalog: Catalog): ContentRow[] {
  const rows = catalog.db.prepare('SELECT hash, max(size) AS size FROM objects GROUP BY hash ORDER BY hash').all() as { hash: Buffer; size: number }[];
  return rows.map((r) => ({ hex: r.hash.toString('hex'), size: r.size }));
}

export interface ObjectVariant {
  mode: number;
  uid: number;
  gid: number;
  mtimeUs: bigint;
  /** The inode's extended-attribute digest, when it has attributes. */
  xattrs?: Buffer;
}

/** The (content, metadata) objects of one content hash: one local inode each. */
export function variantsOf(catalog: Catalog, hash: Buffer): ObjectVariant[] {
  const st = catalog.db.prepare('SELECT mode, uid, gid, mtime_us, xattrs FROM objects WHERE hash = ? ORDER BY mode, uid, gid, mtime_us, xattrs');
  st.safeIntegers(true);
  return (st.all(hash) as { mode: bigint; uid: bigint; gid: bigint; mtime_us: bigint; xattrs: Buffer }[]).map((r) => ({
    mode: Number(r.mode),
    uid: Number(r.uid),
    gid: Number(r.gid),
    mtimeUs: r.mtime_us,
    ...xattrsField(r.xattrs),
  }));
}

/** What is wrong with a catalog file as such: SQLite's integrity check, then the schema version. */
export function catalogFileProblems(file: string): string[] {
  let db;
  try {
    db = openDatabase(file, { readonly: true });
  } catch (e) {
    return [(e as Error).message];
  }
  try {
    const problems = integrityCheck(db);
    if (problems.length) return problems;
    const v = db.pragma('user_version', { simple: true }) as number;
    if (v > SCHEMA_VERSION) return [`schema version ${v} is newer than this linksnap understands (${SCHEMA_VERSION})`];
    if (v < 1) return ['not a linksnap catalog (no schema)'];
    const tables = new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((r) => r.name));
    for (const t of ['snapshots', 'trees', 'entries', 'objects']) if (!tables.has(t)) return [`not a linksnap catalog (no ${t} table)`];
    return [];
  } catch (e) {
    return [(e as Error).message];
  } finally {
    db.close();
  }
}

/** File entries of live snapshots whose (content, metadata) object has no row: pull could not place them. */
export function filesWithoutObject(catalog: Catalog): number {
  const r = catalog.db
    .prepare(
      `WITH RECURSIVE reach(id) AS (
         SELECT root_tree FROM snapshots
         UNION SELECT e.subtree FROM entries e JOIN reach r ON e.tree = r.id WHERE e.subtree IS NOT NULL)
       SELECT count(*) AS n FROM entries e JOIN reach r ON e.tree = r.id
       WHERE e.kind = ${Kind.File} AND NOT EXISTS (SELECT 1 FROM objects o
         WHERE o.hash = e.hash AND o.mode = e.mode AND o.uid = e.uid AND o.gid = e.gid
           AND o.mtime_us = ${mtimeUsOf('e')} AND o.xattrs = e.xattrs)`,
    )
    .get() as { n: number };
  return r.n;
}

/**
 * Trees that contain, at any depth, a file whose content is one of `hashes`: lets verify name
 * the affected snapshots and paths by walking only those subtrees.
 */
export function treesContainingContent(catalog: Catalog, hashes: readonly Buffer[]): Set<number> {
  const db = catalog.db;
  db.exec('CREATE TEMP TABLE IF NOT EXISTS replica_bad_hashes (hash BLOB PRIMARY KEY) WITHOUT ROWID; DELETE FROM replica_bad_hashes;');
  const ins = db.prepare('INSERT OR IGNORE INTO replica_bad_hashes (hash) VALUES (?)');
  db.transaction(() => {
    for (const h of hashes) ins.run(h);
  })();
  const rows = db
    .prepare(
      `WITH RECURSIVE aff(id) AS (
         SELECT DISTINCT tree FROM entries WHERE kind = ${Kind.File} AND hash IN (SELECT hash FROM replica_bad_hashes)
         UNION SELECT e.tree FROM entries e JOIN aff a ON e.subtree = a.id)
       SELECT id FROM aff`,
    )
    .all() as { id: number }[];
  db.exec('DELETE FROM replica_bad_hashes');
  return new Set(rows.map((r) => r.id));
}

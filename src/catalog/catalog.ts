/**
 * The SQLite catalog: the truth about which snapshots exist and what they hold. It knows nothing
 * of the file-system layout; src/ops composes it with src/store.
 */
import { openDatabase, type Db, type Statement } from './sqlite.js';
import { migrate } from './schema.js';
import { Kind, type Entry, type TreeTotals } from '../model/entry.js';
import { xattrsOfKey, type ObjectKey } from '../model/object-key.js';
import { NO_XATTRS } from '../model/xattrs.js';
import { mtimeUsOf } from './sql.js';
import { recordName } from '../model/quick-check.js';
import { randomBytes } from 'node:crypto';

export interface SnapshotRow {
  id: number;
  name: string;
  takenNs: bigint;
  state: 'complete' | 'deleting';
  rootTree: number;
  rootMode: number;
  rootUid: number;
  rootGid: number;
  rootMtimeNs: bigint;
  /** The top folder's extended-attribute digest (empty: none). */
  rootXattrs: Buffer;
  pinned: boolean;
  newObjects: number;
  newBytes: number;
  warnings: number;
  files: number;
  dirs: number;
  bytes: number;
}

export interface NewSnapshot {
  name: string;
  /** The boot its dated folder was made in, while that folder is not known to be on disk. */
  folderBoot?: string;
  takenNs: bigint;
  rootTree: number;
  rootMode: number;
  rootUid: number;
  rootGid: number;
  rootMtimeNs: bigint;
  rootXattrs?: Buffer;
  newObjects: number;
  newBytes: number;
  warnings: number;
}

export interface ObjectRow extends ObjectKey {
  size: number;
  replicas: number;
  verifiedNs: bigint | null;
}


type RawEntry = {
  name: Buffer;
  kind: number;
  mode: bigint;
  uid: bigint;
  gid: bigint;
  mtime_ns: bigint;
  size: bigint;
  hash: Buffer | null;
  target: Buffer | null;
  subtree: bigint | null;
  xattrs: Buffer;
};

/** The `internal` key holding removedRoots(), comma-separated tree ids. */
const REMOVED_ROOTS = 'gc.removed_roots';

function toEntry(r: RawEntry): Entry {
  const e: Entry = {
    name: r.name,
    kind: Number(r.kind) as Kind,
    mode: Number(r.mode),
    uid: Number(r.uid),
    gid: Number(r.gid),
    mtimeNs: r.mtime_ns,
    size: Number(r.size),
  };
  if (r.hash) e.hash = r.hash;
  if (r.target) e.target = r.target;
  if (r.subtree !== null) e.subtree = Number(r.subtree);
  if (r.xattrs.length > 0) e.xattrs = r.xattrs;
  return e;
}

/** An objects row's attribute digest as an ObjectKey field: absent when empty. */
export function xattrsField(d: Buffer | null | undefined): { xattrs?: Buffer } {
  return d && d.length > 0 ? { xattrs: d } : {};
}

/** An objects row as read with safeIntegers (hash, mode, uid, gid, mtime_us, xattrs, size, replicas, verified_ns). */
export function toObjectRow(r: Record<string, bigint | Buffer | null>): ObjectRow {
  return {
    hash: r.hash as Buffer,
    mode: Number(r.mode),
    uid: Number(r.uid),
    gid: Number(r.gid),
    mtimeUs: r.mtime_us as bigint,
    ...xattrsField(r.xattrs as Buffer),
    size: Number(r.size),
    replicas: Number(r.replicas),
    verifiedNs: r.verified_ns as bigint | null,
  };
}

const SNAPSHOT_COLUMNS = `s.id, s.name, s.taken_ns, s.state, s.root_tree, s.root_mode, s.root_uid, s.root_gid,
  s.root_mtime_ns, s.root_xattrs, s.pinned, s.new_objects, s.new_bytes, s.warnings, t.files, t.dirs, t.bytes`;

function toSnapshot(r: Record<string, unknown>): SnapshotRow {
  return {
    id: Number(r.id),
    name: String(r.name),
    takenNs: BigInt(r.taken_ns as bigint),
    state: r.state as SnapshotRow['state'],
    rootTree: Number(r.root_tree),
    rootMode: Number(r.root_mode),
    rootUid: Number(r.root_uid),
    rootGid: Number(r.root_gid),
    rootMtimeNs: BigInt(r.root_mtime_ns as bigint),
    rootXattrs: r.root_xattrs as Buffer,
    pinned: Number(r.pinned) !== 0,
    newObjects: Number(r.new_objects),
    newBytes: Number(r.new_bytes),
    warnings: Number(r.warnings),
    files: Number(r.files),
    dirs: Number(r.dirs),
    bytes: Number(r.bytes),
  };
}

export class Catalog {
  readonly db: Db;
  private readonly stmts = new Map<string, Statement>();
  private stagedQuickChecks = 0;

  private constructor(db: Db) {
    this.db = db;
  }

  static open(file: string, opts: { readonly?: boolean } = {}): Catalog {
    const db = openDatabase(file, { wal: true, readonly: opts.readonly });
    if (!opts.readonly) migrate(db);
    return new Catalog(db);
  }

  close(): void {
    this.db.close();
  }

  /** Prepared statements are cached; every one returns 64-bit integers as BigInt. */
  private st(sql: string): Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (s.reader) s.safeIntegers(true);
      this.stmts.set(sql, s);
    }
    return s;
  }

  // ---- transactions -------------------------------------------------------------------------
  // A take spans many awaits, so it cannot use db.transaction(); it brackets its writes with
  // begin/commit on this connection, which nothing else in the process uses meanwhile.
  begin(): void {
    this.db.exec('BEGIN IMMEDIATE');
  }
  commit(): void {
    this.db.exec('COMMIT');
  }
  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }


  // ---- snapshots ----------------------------------------------------------------------------
  /** All snapshots in creation order (oldest first). */
  listSnapshots(): SnapshotRow[] {
    return this.st(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots s JOIN trees t ON t.id = s.root_tree ORDER BY s.taken_ns, s.id`)
      .all()
      .map((r) => toSnapshot(r as Record<string, unknown>));
  }

  getSnapshot(name: string): SnapshotRow | undefined {
    const r = this.st(`SELECT ${SNAPSHOT_COLUMNS} FROM snapshots s JOIN trees t ON t.id = s.root_tree WHERE s.name = ?`).get(name);
    return r ? toSnapshot(r as Record<string, unknown>) : undefined;
  }

  insertSnapshot(s: NewSnapshot): number {
    const r = this.st(
      `INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns, root_xattrs,
         new_objects, new_bytes, warnings, folder_boot) VALUES (?, ?, 'complete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(s.name, s.takenNs, s.rootTree, s.rootMode, s.rootUid, s.rootGid, s.rootMtimeNs, s.rootXattrs ?? NO_XATTRS, s.newObjects, s.newBytes, s.warnings, s.folderBoot ?? null);
    return Number(r.lastInsertRowid);
  }

  /** Complete snapshots whose dated folder was made in another boot and is not known to be on disk. */
  foldersMarkedBefore(boot: string): string[] {
    return (this.st(`SELECT name FROM snapshots WHERE state = 'complete' AND folder_boot IS NOT NULL AND folder_boot <> ? ORDER BY taken_ns`).all(boot) as { name: string }[]).map(
      (r) => r.name,
    );
  }

  /** The dated folder of `name` (every snapshot's, without a name) is known to be on disk. */
  clearFolderMark(name?: string): void {
    if (name === undefined) this.st(`UPDATE snapshots SET folder_boot = NULL WHERE folder_boot IS NOT NULL`).run();
    else this.st(`UPDATE snapshots SET folder_boot = NULL WHERE name = ?`).run(name);
  }

  setSnapshotState(name: string, state: SnapshotRow['state']): void {
    this.st(`UPDATE snapshots SET state = ? WHERE name = ?`).run(state, name);
  }

  setPinned(name: string, pinned: boolean): void {
    this.st(`UPDATE snapshots SET pinned = ? WHERE name = ?`).run(pinned ? 1 : 0, name);
  }

  /**
   * Delete a snapshot's row. Its root tree joins the removed roots, in the same transaction: the
   * next gc marks from them (gc-queries.ts), so a crash between a removal and its gc leaves no
   * garbage that gc would not find.
   */
  deleteSnapshot(name: string): void {
    this.db.transaction(() => {
      const r = this.st(`SELECT root_tree FROM snapshots WHERE name = ?`).safeIntegers(true).get(name) as { root_tree: bigint } | undefined;
      if (!r) return;
      const roots = new Set(this.removedRoots());
      roots.add(Number(r.root_tree));
      this.setInternal(REMOVED_ROOTS, [...roots].join(','));
      this.st(`DELETE FROM snapshots WHERE name = ?`).run(name);
    })();
  }

  /** Root trees of the snapshots removed since the last gc (deleteSnapshot). */
  removedRoots(): number[] {
    const v = this.getInternal(REMOVED_ROOTS);
    return v ? v.split(',').map(Number).filter(Number.isSafeInteger) : [];
  }

  /** A gc has collected what the removed snapshots left (or a full gc everything). */
  clearRemovedRoots(): void {
    this.st(`DELETE FROM internal WHERE key = ?`).run(REMOVED_ROOTS);
  }

  // ---- trees --------------------------------------------------------------------------------
  findTree(digest: Buffer): number | undefined {
    return this.findTreeWithTotals(digest)?.id;
  }

  /** A tree's id and totals by digest, or undefined when no such tree is stored. */
  findTreeWithTotals(digest: Buffer): { id: number; totals: TreeTotals } | undefined {
    const r = this.st(`SELECT id, files, dirs, bytes FROM trees WHERE digest = ?`).get(digest) as Record<string, bigint> | undefined;
    return r ? { id: Number(r.id), totals: { files: Number(r.files), dirs: Number(r.dirs), bytes: Number(r.bytes) } } : undefined;
  }

  /** Insert a tree and its entries unless a tree with this digest exists; returns its id. */
  putTree(digest: Buffer, totals: TreeTotals, entries: readonly Entry[]): number {
    const existing = this.findTree(digest);
    if (existing !== undefined) return existing;
    const r = this.st(`INSERT INTO trees (digest, files, dirs, bytes) VALUES (?, ?, ?, ?)`).run(
      digest,
      totals.files,
      totals.dirs,
      totals.bytes,
    );
    const id = Number(r.lastInsertRowid);
    this.addEntries(id, entries);
    return id;
  }

  /**
   * Trees too big to hold in memory (a folder of a million entries) are written as they are
   * walked: a provisional tree row first (a placeholder digest no real one can equal), entries
   * added chunk by chunk, then finishProvisionalTree() gives it its digest — or, when a tree with
   * that digest exists already, drops it for that one.
   */
  startProvisionalTree(): number {
    const placeholder = Buffer.concat([Buffer.from([0xff]), randomBytes(32)]); // 33 bytes: never a BLAKE3 digest
    return Number(this.st(`INSERT INTO trees (digest, files, dirs, bytes) VALUES (?, 0, 0, 0)`).run(placeholder).lastInsertRowid);
  }

  addEntries(tree: number, entries: readonly Entry[]): void {
    const ins = this.st(
      `INSERT INTO entries (tree, name, kind, mode, uid, gid, mtime_ns, size, hash, target, subtree, xattrs)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const e of entries) ins.run(tree, e.name, e.kind, e.mode, e.uid, e.gid, e.mtimeNs, e.size, e.hash ?? null, e.target ?? null, e.subtree ?? null, e.xattrs ?? NO_XATTRS);
  }

  finishProvisionalTree(tree: number, digest: Buffer, totals: TreeTotals): number {
    const existing = this.findTree(digest);
    if (existing !== undefined) {
      this.st(`DELETE FROM entries WHERE tree = ?`).run(tree);
      this.st(`DELETE FROM trees WHERE id = ?`).run(tree);
      return existing;
    }
    this.st(`UPDATE trees SET digest = ?, files = ?, dirs = ?, bytes = ? WHERE id = ?`).run(digest, totals.files, totals.dirs, totals.bytes, tree);
    return tree;
  }

  treeTotals(id: number): TreeTotals | undefined {
    const r = this.st(`SELECT files, dirs, bytes FROM trees WHERE id = ?`).get(id) as Record<string, bigint> | undefined;
    return r ? { files: Number(r.files), dirs: Number(r.dirs), bytes: Number(r.bytes) } : undefined;
  }

  /** A tree's entries in byte order of their names. */
  treeEntries(id: number): Entry[] {
    return (this.st(`SELECT name, kind, mode, uid, gid, mtime_ns, size, hash, target, subtree, xattrs FROM entries WHERE tree = ? ORDER BY name`).all(id) as RawEntry[]).map(toEntry);
  }

  /**
   * A tree's entries in byte order of their names, read a page at a time: memory holds one page,
   * not a folder of a million entries, and other statements may run between pages (an open
   * better-sqlite3 iterator would keep the connection busy). Trees never change once written.
   */
  *treeEntriesPaged(id: number, pageSize = 4096): Generator<Entry> {
    const first = this.st(`SELECT name, kind, mode, uid, gid, mtime_ns, size, hash, target, subtree, xattrs FROM entries WHERE tree = ? ORDER BY name LIMIT ?`);
    const after = this.st(`SELECT name, kind, mode, uid, gid, mtime_ns, size, hash, target, subtree, xattrs FROM entries WHERE tree = ? AND name > ? ORDER BY name LIMIT ?`);
    let last: Buffer | undefined;
    for (;;) {
      const rows = (last === undefined ? first.all(id, pageSize) : after.all(id, last, pageSize)) as RawEntry[];
      for (const r of rows) yield toEntry(r);
      if (rows.length < pageSize) return;
      last = rows[rows.length - 1]!.name;
    }
  }

  treeEntry(id: number, name: Buffer): Entry | undefined {
    const r = this.st(`SELECT name, kind, mode, uid, gid, mtime_ns, size, hash, target, subtree, xattrs FROM entries WHERE tree = ? AND name = ?`).get(id, name) as RawEntry | undefined;
    return r ? toEntry(r) : undefined;
  }

  /**
   * Mark phase of gc: fill the temp table live_trees with every tree reachable from a snapshot
   * (any state: a snapshot being pruned still owns its trees until its row is gone).
   */
  markLiveTrees(): void {
    this.db.exec(`CREATE TEMP TABLE IF NOT EXISTS live_trees (id INTEGER PRIMARY KEY)`);
    this.db.exec(`DELETE FROM live_trees`);
    this.db.exec(`INSERT INTO live_trees (id)
      WITH RECURSIVE reach(id) AS (
        SELECT root_tree FROM snapshots
        UNION
        SELECT e.subtree FROM entries e JOIN reach r ON e.tree = r.id WHERE e.subtree IS NOT NULL)
      SELECT id FROM reach`);
  }

  /** Delete trees (and their entries) that no snapshot reaches; returns how many went. */
  deleteUnreachableTrees(): number {
    this.markLiveTrees();
    this.db.exec(`DELETE FROM entries WHERE tree NOT IN (SELECT id FROM live_trees)`);
    const r = this.db.prepare(`DELETE FROM trees WHERE id NOT IN (SELECT id FROM live_trees)`).run();
    this.db.exec(`DELETE FROM live_trees`);
    return r.changes;
  }

  // ---- objects ------------------------------------------------------------------------------
  getObject(k: ObjectKey): ObjectRow | undefined {
    const r = this.st(
      `SELECT size, replicas, verified_ns FROM objects WHERE hash = ? AND mode = ? AND uid = ? AND gid = ? AND mtime_us = ? AND xattrs = ?`,
    ).get(k.hash, k.mode, k.uid, k.gid, k.mtimeUs, xattrsOfKey(k)) as { size: bigint; replicas: bigint; verified_ns: bigint | null } | undefined;
    return r ? { ...k, size: Number(r.size), replicas: Number(r.replicas), verifiedNs: r.verified_ns } : undefined;
  }

  /** Record an object unless the catalog has it; true when the row is new. One statement. */
  ensureObject(k: ObjectKey, size: number): boolean {
    return (
      this.st(`INSERT OR IGNORE INTO objects (hash, mode, uid, gid, mtime_us, xattrs, size) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(k.hash, k.mode, k.uid, k.gid, k.mtimeUs, xattrsOfKey(k), size)
        .changes > 0
    );
  }

  setReplicas(k: ObjectKey, replicas: number): void {
    this.st(`UPDATE objects SET replicas = ? WHERE hash = ? AND mode = ? AND uid = ? AND gid = ? AND mtime_us = ? AND xattrs = ?`).run(
      replicas,
      k.hash,
      k.mode,
      k.uid,
      k.gid,
      k.mtimeUs,
      xattrsOfKey(k),
    );
  }


  deleteObject(k: ObjectKey): void {
    this.st(`DELETE FROM objects WHERE hash = ? AND mode = ? AND uid = ? AND gid = ? AND mtime_us = ? AND xattrs = ?`).run(k.hash, k.mode, k.uid, k.gid, k.mtimeUs, xattrsOfKey(k));
  }

  // ---- extended-attribute sets (src/model/xattrs.ts) ----------------------------------------
  /** Store a set's canonical encoding under its digest (once; the empty set is never stored). */
  putXattrSet(digest: Buffer, data: Buffer): void {
    if (digest.length > 0) this.st(`INSERT OR IGNORE INTO xattr_sets (digest, data) VALUES (?, ?)`).run(digest, data);
  }

  /** The encoding of the set with this digest (empty for the empty digest); undefined when the catalog lacks it. */
  xattrSet(digest: Buffer): Buffer | undefined {
    if (digest.length === 0) return Buffer.alloc(0);
    return (this.st(`SELECT data FROM xattr_sets WHERE digest = ?`).get(digest) as { data: Buffer } | undefined)?.data;
  }

  /** Whether any attribute set was ever recorded (verify then checks every object's attributes). */
  hasXattrSets(): boolean {
    return this.st(`SELECT 1 FROM xattr_sets LIMIT 1`).get() !== undefined;
  }

  /** Drop sets no object, entry or snapshot names any more (gc). */
  deleteUnusedXattrSets(): number {
    return this.db
      .prepare(
        `DELETE FROM xattr_sets WHERE digest NOT IN (SELECT xattrs FROM objects UNION SELECT xattrs FROM entries UNION SELECT root_xattrs FROM snapshots)`,
      )
      .run().changes;
  }

  *iterateObjects(): IterableIterator<ObjectRow> {
    for (const r of this.st(`SELECT hash, mode, uid, gid, mtime_us, xattrs, size, replicas, verified_ns FROM objects`).iterate() as IterableIterator<
      Record<string, bigint | Buffer | null>
    >) {
      yield toObjectRow(r);
    }
  }


  /**
   * Objects that no tree reachable from a snapshot references: the sweep set of gc. Computed in
   * SQL (temp tables) so memory does not grow with the store.
   */
  unreferencedObjects(): ObjectRow[] {
    this.markLiveTrees();
    this.db.exec(`CREATE TEMP TABLE IF NOT EXISTS live_objects (
      hash BLOB, mode INTEGER, uid INTEGER, gid INTEGER, mtime_us INTEGER, xattrs BLOB,
      PRIMARY KEY (hash, mode, uid, gid, mtime_us, xattrs)) WITHOUT ROWID`);
    this.db.exec(`DELETE FROM live_objects`);
    this.db.exec(`INSERT OR IGNORE INTO live_objects
      SELECT e.hash, e.mode, e.uid, e.gid, ${mtimeUsOf('e')}, e.xattrs
      FROM entries e JOIN live_trees l ON l.id = e.tree WHERE e.kind = ${Kind.File}`);
    const rows = this.db
      .prepare(
        `SELECT o.hash, o.mode, o.uid, o.gid, o.mtime_us, o.xattrs, o.size, o.replicas, o.verified_ns FROM objects o
         WHERE NOT EXISTS (SELECT 1 FROM live_objects l
           WHERE l.hash = o.hash AND l.mode = o.mode AND l.uid = o.uid AND l.gid = o.gid AND l.mtime_us = o.mtime_us AND l.xattrs = o.xattrs)`,
      )
      .safeIntegers(true)
      .all() as Record<string, bigint | Buffer | null>[];
    this.db.exec(`DELETE FROM live_objects; DELETE FROM live_trees;`);
    return rows.map(toObjectRow);
  }

  // ---- quick-check records (src/model/quick-check.ts) ---------------------------------------
  /** A folder's first part: the digest it had when its records were written, its part count and first records. */
  quickCheck(dir: Buffer): { digest: Buffer; parts: number; records: Buffer } | undefined {
    const r = this.st(`SELECT digest, parts, records FROM quick_check WHERE dir = ? AND part = x''`).get(dir) as
      | { digest: Buffer; parts: bigint; records: Buffer }
      | undefined;
    return r && { digest: r.digest, parts: Number(r.parts), records: r.records };
  }

  /**
   * The parts of a folder's records that may hold names in [lo, hi) (undefined: unbounded),
   * concatenated in name order; the caller cuts out exactly the range.
   */
  quickCheckParts(dir: Buffer, lo: Buffer | undefined, hi: Buffer | undefined): Buffer {
    const rows = this.st(
      `SELECT records FROM quick_check WHERE dir = @dir
         AND part >= coalesce((SELECT max(part) FROM quick_check WHERE dir = @dir AND part <= @lo), x'')
         AND (@hi IS NULL OR part < @hi)
       ORDER BY part`,
    ).all({ dir, lo: lo ?? Buffer.alloc(0), hi: hi ?? null }) as { records: Buffer }[];
    return rows.length === 1 ? rows[0]!.records : Buffer.concat(rows.map((r) => r.records));
  }

  /** Replace a folder's records with these parts (each sorted, in name order; the first holds the digest). */
  putQuickCheck(dir: Buffer, digest: Buffer, parts: readonly Buffer[]): void {
    this.st(`DELETE FROM quick_check WHERE dir = ?`).run(dir);
    const ins = this.st(`INSERT INTO quick_check (dir, part, digest, parts, records) VALUES (?, ?, ?, ?, ?)`);
    parts.forEach((records, i) => {
      ins.run(dir, i === 0 ? Buffer.alloc(0) : recordName(records, 0), i === 0 ? digest : Buffer.alloc(0), i === 0 ? parts.length : 0, records);
    });
  }

  /**
   * A folder's new records written a part at a time while its old ones are still read (a
   * folder too big to hold): parts go to a temporary table, then replace the folder's rows.
   * Returns the id the parts are staged under (big folders can nest).
   */
  startStagedQuickCheck(): number {
    this.db.exec(`CREATE TEMP TABLE IF NOT EXISTS quick_check_staged (
      id INTEGER NOT NULL, seq INTEGER NOT NULL, part BLOB NOT NULL, records BLOB NOT NULL, PRIMARY KEY (id, seq))`);
    return ++this.stagedQuickChecks;
  }

  /** The next part (sorted, in name order) of the folder staged as `id`. */
  stageQuickCheckPart(id: number, seq: number, records: Buffer): void {
    const part = seq === 0 ? Buffer.alloc(0) : recordName(records, 0);
    this.st(`INSERT INTO quick_check_staged (id, seq, part, records) VALUES (?, ?, ?, ?)`).run(id, seq, part, records);
  }

  /** Replace the folder's records with the `parts` parts staged as `id`. */
  commitStagedQuickCheck(id: number, dir: Buffer, digest: Buffer, parts: number): void {
    this.st(`DELETE FROM quick_check WHERE dir = ?`).run(dir);
    if (parts === 0) {
      this.putQuickCheck(dir, digest, [Buffer.alloc(0)]);
      return;
    }
    this.st(
      `INSERT INTO quick_check (dir, part, digest, parts, records)
       SELECT @dir, part, CASE seq WHEN 0 THEN @digest ELSE x'' END, CASE seq WHEN 0 THEN @parts ELSE 0 END, records
       FROM quick_check_staged WHERE id = @id`,
    ).run({ dir, digest, parts, id });
    this.st(`DELETE FROM quick_check_staged WHERE id = ?`).run(id);
  }

  /** Drop the records of a folder and of everything below it (it vanished or is excluded). */
  dropQuickCheckBelow(dir: Buffer): void {
    const lo = Buffer.concat([dir, Buffer.from('/')]);
    const hi = Buffer.concat([dir, Buffer.from('0')]); // '0' is the byte after '/'
    this.st(`DELETE FROM quick_check WHERE dir = ? OR (dir >= ? AND dir < ?)`).run(dir, lo, hi);
  }

  clearQuickCheck(): void {
    this.db.exec(`DELETE FROM quick_check`);
  }

  /** Every part of every folder's records, for the rare whole-store searches (repair looking for a source). */
  *allQuickCheck(): IterableIterator<{ dir: Buffer; records: Buffer }> {
    yield* this.db.prepare(`SELECT dir, records FROM quick_check ORDER BY dir, part`).iterate() as IterableIterator<{ dir: Buffer; records: Buffer }>;
  }

  getInternal(key: string): string | undefined {
    return (this.st(`SELECT value FROM internal WHERE key = ?`).get(key) as { value: string } | undefined)?.value;
  }

  setInternal(key: string, value: string): void {
    this.st(`INSERT OR REPLACE INTO internal (key, value) VALUES (?, ?)`).run(key, value);
  }

  // ---- config -------------------------------------------------------------------------------
  getConfig(): Map<string, string> {
    return new Map((this.st(`SELECT key, value FROM config ORDER BY key`).all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
  }

  setConfig(key: string, value: string | undefined): void {
    if (value === undefined) this.st(`DELETE FROM config WHERE key = ?`).run(key);
    else this.st(`INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)`).run(key, value);
  }
}

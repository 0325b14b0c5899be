/**
 * The catalog schema and its migrations. `PRAGMA user_version` holds the schema version; a
 * catalog newer than this program is refused rather than misread. See docs/design.md.
 */
import type { Db } from './sqlite.js';
import { SnapError } from '../errors.js';

export const SCHEMA_VERSION = 5;

const V1 = `
-- One row per snapshot. A row exists only for a complete snapshot (state 'complete') or one
-- being pruned (state 'deleting'); a take commits its row in the same transaction as its trees.
CREATE TABLE snapshots (
  id            INTEGER PRIMARY KEY,
  name          TEXT    NOT NULL UNIQUE,   -- the dated folder's name
  taken_ns      INTEGER NOT NULL,          -- wall clock when the take started (creation order)
  state         TEXT    NOT NULL CHECK (state IN ('complete', 'deleting')),
  root_tree     INTEGER NOT NULL REFERENCES trees(id),
  root_mode     INTEGER NOT NULL,          -- the top folder's own metadata
  root_uid      INTEGER NOT NULL,
  root_gid      INTEGER NOT NULL,
  root_mtime_ns INTEGER NOT NULL,
  pinned        INTEGER NOT NULL DEFAULT 0,
  new_objects   INTEGER NOT NULL DEFAULT 0, -- inodes this take added to the store
  new_bytes     INTEGER NOT NULL DEFAULT 0,
  warnings      INTEGER NOT NULL DEFAULT 0
);

-- Merkle tree records: one row per distinct directory listing, keyed by the BLAKE3 digest of its
-- canonical encoding (src/ops/shared/tree-digest.ts). An unchanged directory has the same digest in
-- every snapshot, so it is stored once and a no-change take adds no tree rows at all.
CREATE TABLE trees (
  id     INTEGER PRIMARY KEY,
  digest BLOB    NOT NULL UNIQUE,
  files  INTEGER NOT NULL,  -- regular files in the whole subtree
  dirs   INTEGER NOT NULL,  -- directories in the whole subtree (not counting itself)
  bytes  INTEGER NOT NULL   -- logical bytes of the files in the whole subtree
);

CREATE TABLE entries (
  tree     INTEGER NOT NULL,
  name     BLOB    NOT NULL,  -- the exact bytes of the name
  kind     INTEGER NOT NULL,  -- 1 file, 2 dir, 3 symlink
  mode     INTEGER NOT NULL,  -- permission bits (& 0o7777)
  uid      INTEGER NOT NULL,
  gid      INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  size     INTEGER NOT NULL,  -- file size; target length for symlinks; 0 for dirs
  hash     BLOB,              -- files: BLAKE3 of the content
  target   BLOB,              -- symlinks: the exact bytes of the target
  subtree  INTEGER,           -- dirs: trees.id
  PRIMARY KEY (tree, name)
) WITHOUT ROWID;

-- One row per published inode in .snap/objects: a content hash plus the metadata an inode
-- carries. replicas > 1 when the file system's link limit forced extra copies (_r1, _r2, ...).
CREATE TABLE objects (
  hash        BLOB    NOT NULL,
  mode        INTEGER NOT NULL,
  uid         INTEGER NOT NULL,
  gid         INTEGER NOT NULL,
  mtime_us    INTEGER NOT NULL,
  size        INTEGER NOT NULL,
  replicas    INTEGER NOT NULL DEFAULT 1,
  verified_ns INTEGER,             -- when verify last read and hashed it (for --sample)
  PRIMARY KEY (hash, mode, uid, gid, mtime_us)
) WITHOUT ROWID;

-- The quick check: what each source file looked like when it was last hashed. Keyed by folder,
-- so a take loads one folder's rows at a time. Subfolders get a row with hash NULL so that a
-- vanished folder's rows can be dropped. Rows are written only for files that changed.
CREATE TABLE stat_cache (
  dir      BLOB    NOT NULL,
  name     BLOB    NOT NULL,
  dev      INTEGER NOT NULL,
  ino      INTEGER NOT NULL,
  size     INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  ctime_ns INTEGER NOT NULL,
  hash     BLOB,
  PRIMARY KEY (dir, name)
) WITHOUT ROWID;

-- Saved settings of the root, e.g. the retention policy (keep.daily = 7).
CREATE TABLE config (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

// v2: the quick check moves from one row per file (stat_cache) to one packed record per folder
// (src/model/quick-check.ts), which also remembers the folder's tree digest, so an unchanged
// folder is recognised without reading or rebuilding its entries. The old rows are only a
// cache: they are dropped, and the next take re-reads each file once.
const V2 = `
DROP TABLE stat_cache;
CREATE TABLE dir_cache (
  dir     BLOB PRIMARY KEY,  -- the folder's path relative to .latest ('' for .latest itself)
  digest  BLOB NOT NULL,     -- the tree digest the folder had when the records were written
  records BLOB NOT NULL      -- packed records, one per entry, sorted by name
);
-- Settings of linksnap's own (not the user's \`snap config\`), e.g. the exclude rules the
-- dir_cache was written under.
CREATE TABLE internal (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

// v3: one name for the quick check everywhere (code, docs, catalog); a mark on each snapshot
// whose dated folder may not be on disk yet; and a folder's records
// in parts of at most 4,096, so a folder of a million entries is read and written a part at a
// time (src/ops/take/folder-walk.ts). A v2 row becomes the single part of its folder.
const V3 = `
CREATE TABLE quick_check (
  dir     BLOB    NOT NULL,  -- the folder's path relative to .latest ('' for .latest itself)
  part    BLOB    NOT NULL,  -- '' for the first part, else the first name in it (parts sort by name)
  digest  BLOB    NOT NULL,  -- first part: the tree digest the folder had when the records were written
  parts   INTEGER NOT NULL,  -- first part: how many parts the folder has
  records BLOB    NOT NULL,  -- packed records, one per entry, sorted by name (src/model/quick-check.ts)
  PRIMARY KEY (dir, part)
);
INSERT INTO quick_check (dir, part, digest, parts, records) SELECT dir, x'', digest, 1, records FROM dir_cache;
-- A dated folder not yet known to be on disk: the boot it was made in (src/store/durability.ts).
-- Folders are views of the catalog and are not flushed before the commit; the first locked run
-- after a reboot rebuilds the folders still marked, then clears the mark.
ALTER TABLE snapshots ADD COLUMN folder_boot TEXT;
DROP TABLE dir_cache;
UPDATE internal SET key = 'quick_check.excludes' WHERE key = 'dir_cache.excludes';
`;

// v4: the outcome of each take (ok, warnings, failed; failed ones too, written after their
// rollback) and each verify, for `snap status` (src/catalog/run-queries.ts). Only the newest
// rows per command are kept. Outcomes are plain text so later ones (a skipped take) need no
// migration.
const V4 = `
CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  command     TEXT    NOT NULL,  -- 'take' or 'verify'
  started_ns  INTEGER NOT NULL,
  finished_ns INTEGER NOT NULL,
  outcome     TEXT    NOT NULL,  -- take: ok, warnings, failed; verify: clean, damage
  snapshot    TEXT,              -- take: the snapshot it made
  warnings    INTEGER NOT NULL DEFAULT 0,
  error_code  TEXT,              -- a failed take: its SnapError code (the CLI maps it to an exit code)
  error       TEXT,              -- a failed take: its one-line message; a warning of its hooks.post
  tier        TEXT,              -- verify: quick, sample or full
  snapshots   INTEGER,           -- verify: how many snapshots it checked
  damage      INTEGER            -- verify: damage found and not repaired
);
CREATE INDEX runs_by_command ON runs (command, id);
`;

// v5: extended attributes (take --xattrs, src/model/xattrs.ts). An object's attribute set is
// part of its identity, so `objects` gains an `xattrs` digest in its primary key (rebuilt: a
// primary key cannot be altered); file and folder entries and the snapshot's top folder gain
// theirs; each distinct set is stored once in `xattr_sets`. The empty digest means "no
// attributes": every existing row, object name and tree digest stays valid as it is.
const V5 = `
CREATE TABLE objects_v5 (
  hash        BLOB    NOT NULL,
  mode        INTEGER NOT NULL,
  uid         INTEGER NOT NULL,
  gid         INTEGER NOT NULL,
  mtime_us    INTEGER NOT NULL,
  xattrs      BLOB    NOT NULL DEFAULT x'',  -- digest of the inode's extended attributes ('' = none)
  size        INTEGER NOT NULL,
  replicas    INTEGER NOT NULL DEFAULT 1,
  verified_ns INTEGER,
  PRIMARY KEY (hash, mode, uid, gid, mtime_us, xattrs)
) WITHOUT ROWID;
INSERT INTO objects_v5 (hash, mode, uid, gid, mtime_us, size, replicas, verified_ns)
  SELECT hash, mode, uid, gid, mtime_us, size, replicas, verified_ns FROM objects;
DROP TABLE objects;
ALTER TABLE objects_v5 RENAME TO objects;
ALTER TABLE entries ADD COLUMN xattrs BLOB NOT NULL DEFAULT x'';          -- files and folders
ALTER TABLE snapshots ADD COLUMN root_xattrs BLOB NOT NULL DEFAULT x'';   -- the top folder's
CREATE TABLE xattr_sets (
  digest BLOB PRIMARY KEY,  -- SHA-256 of data
  data   BLOB NOT NULL      -- the canonical encoding of the set (src/model/xattrs.ts)
) WITHOUT ROWID;
`;

export const MIGRATIONS: Readonly<Record<number, string>> = { 1: V1, 2: V2, 3: V3, 4: V4, 5: V5 };

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new SnapError('CATALOG', `the catalog has schema version ${current}, newer than this linksnap understands (${SCHEMA_VERSION})`, {
      hint: 'upgrade linksnap',
    });
  }
  if (current === SCHEMA_VERSION) return;
  const apply = db.transaction(() => {
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v}`);
    }
  });
  apply.immediate();
}

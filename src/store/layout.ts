/**
 * The on-disk layout under <root>/.snap (see docs/design.md):
 *
 *   .snap/                       0700, private to the owner
 *     catalog.db                 SQLite catalog (the truth)
 *     lock.db                    the root's lock (an exclusive SQLite transaction)
 *     objects/ab/<name>          one inode per (content, metadata); see objectName()
 *     tmp/                       blobs being written; never referenced
 *     staging/<snapshot>/        a dated folder being built; renamed into <root>/ when complete
 *     trash/<snapshot>/          a pruned dated folder, renamed aside then deleted
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { HASH_BYTES } from './hasher.js';
import type { ObjectKey } from '../model/object-key.js';
import { SNAPSHOT_NAME_RE } from '../model/snapshot-name.js';
import { isXattrDigest } from '../model/xattrs.js';

export { SNAPSHOT_NAME_RE };

export const STORE_DIR = '.snap';
export const LATEST = '.latest';

export interface StoreLayout {
  root: string;
  store: string;
  objects: string;
  tmp: string;
  staging: string;
  trash: string;
  catalog: string;
  lock: string;
}

export function layoutFor(root: string): StoreLayout {
  const store = path.join(root, STORE_DIR);
  return {
    root,
    store,
    objects: path.join(store, 'objects'),
    tmp: path.join(store, 'tmp'),
    staging: path.join(store, 'staging'),
    trash: path.join(store, 'trash'),
    catalog: path.join(store, 'catalog.db'),
    lock: path.join(store, 'lock.db'),
  };
}


/**
 * The object file name: `<hash hex>_<mode octal>_<uid>_<gid>_<mtime µs>`, plus `_x<digest hex>`
 * when the inode carries extended attributes (take --xattrs; the digest of their set,
 * src/model/xattrs.ts), plus `_r<N>` for the N-th replica made when one inode reached the file
 * system's link limit (EMLINK). Everything a snapshot file's inode carries is in the name, so
 * `verify` can compare an object with its name and an object can never be mistaken for a
 * variant with other metadata.
 */
export function objectName(key: ObjectKey, replica = 0): string {
  let base = `${key.hash.toString('hex')}_${key.mode.toString(8)}_${key.uid}_${key.gid}_${key.mtimeUs}`;
  if (key.xattrs && key.xattrs.length > 0) base += `_x${key.xattrs.toString('hex')}`;
  return replica === 0 ? base : `${base}_r${replica}`;
}

export function objectPath(layout: StoreLayout, key: ObjectKey, replica = 0): string {
  return path.join(layout.objects, key.hash.toString('hex', 0, 1), objectName(key, replica));
}

const OBJECT_RE = /^([0-9a-f]{64})_([0-7]{1,6})_(\d+)_(\d+)_(-?\d+)(?:_x([0-9a-f]{64}))?(?:_r([1-9]\d*))?$/;

/** Parse an object file name; undefined for anything that is not one (e.g. a stray file). */
export function parseObjectName(name: string): { key: ObjectKey; replica: number } | undefined {
  const m = OBJECT_RE.exec(name);
  if (!m) return undefined;
  const hash = Buffer.from(m[1]!, 'hex');
  if (hash.length !== HASH_BYTES) return undefined;
  const key: ObjectKey = { hash, mode: parseInt(m[2]!, 8), uid: Number(m[3]), gid: Number(m[4]), mtimeUs: BigInt(m[5]!) };
  if (m[6]) key.xattrs = Buffer.from(m[6], 'hex');
  return { key, replica: m[7] ? Number(m[7]) : 0 };
}

/**
 * Where a damaged object file is moved aside (in .snap/trash, emptied after the run): out of the
 * objects' name space, so a fresh copy can take its name, while the snapshots that still link
 * the damaged inode keep it until `verify --repair` re-links them.
 */
export function quarantineName(trashDir: string, objectFileName: string): string {
  return path.join(trashDir, `damaged-${objectFileName}-${randomBytes(4).toString('hex')}`);
}

/** A name quarantineName makes: `damaged-<object file name>-<8 hex>`. */
function isQuarantineName(name: string): boolean {
  const m = /^damaged-(.+)-[0-9a-f]{8}$/.exec(name);
  return m !== null && parseObjectName(m[1]!) !== undefined;
}

/**
 * Whether a key (from a catalog row) names an object file in the scheme: a 32-byte hash and
 * metadata whose name parses back to itself. gc deletes objectPath(key): a malformed row (a
 * hash stored as text, say) must never turn into a path outside .snap/objects.
 */
export function isObjectKeyInScheme(key: ObjectKey): boolean {
  if (!Buffer.isBuffer(key.hash) || key.hash.length !== HASH_BYTES) return false;
  if (key.xattrs !== undefined && !isXattrDigest(key.xattrs)) return false;
  const name = objectName(key);
  const parsed = parseObjectName(name);
  return parsed !== undefined && objectName(parsed.key) === name;
}

// ---- what linksnap names inside .snap ---------------------------------------------------------
// Cleanup (recovery, gc, the trash) deletes only names that follow these rules; anything else in
// a store folder is not linksnap's, and is reported and left where it is.

/** A fan-out folder of .snap/objects: the first byte of the hash, in hex. */
export function isFanOutName(name: string): boolean {
  return /^[0-9a-f]{2}$/.test(name);
}

/** An object file name that belongs in fan-out folder `fan` (its hash starts with it). */
export function parseObjectFileIn(fan: string, name: string): { key: ObjectKey; replica: number } | undefined {
  const parsed = parseObjectName(name);
  return parsed && parsed.key.hash.toString('hex', 0, 1) === fan ? parsed : undefined;
}

/** A catalog being pulled (ops/replica/pull.ts), before it is moved into place. */
export function pullCatalogName(): string {
  return `pull-catalog-${randomBytes(8).toString('hex')}.db`;
}

/**
 * Names in .snap/tmp: a blob being written, `<pid>-<16 hex>` (store/blobfile.ts, tmpName), and
 * a catalog being pulled (pullCatalogName) with the side files SQLite keeps next to it.
 */
export function isTmpName(name: string): boolean {
  return /^\d+-[0-9a-f]{16}$/.test(name) || /^pull-catalog-[0-9a-f]{16}\.db(?:-wal|-shm|-journal)?$/.test(name);
}

/** Names in .snap/staging: a snapshot being built, or a rebuild `<name>.building-<8 hex>` (ops/shared/build-folder.ts). */
export function isStagingName(name: string): boolean {
  return SNAPSHOT_NAME_RE.test(name) || isSnapshotNameWith(name, /^\.building-[0-9a-f]{8}$/);
}

/**
 * Names in .snap/trash: a removed dated folder `<name>` or `<name>.<n>` (ops/shared/remove.ts,
 * trashPath), a folder replaced by a rebuild `<name>.old-<8 hex>` (build-folder.ts), what a
 * repair moved out of .snap/objects: `objects-<xx>-<8 hex>`, `object-<12 hex>` (verify/repair.ts),
 * and a damaged object a take moved aside: `damaged-<object name>-<8 hex>` (quarantineName).
 */
export function isTrashName(name: string): boolean {
  return (
    SNAPSHOT_NAME_RE.test(name) ||
    isSnapshotNameWith(name, /^\.(?:[1-9]\d*|old-[0-9a-f]{8})$/) ||
    /^objects-[0-9a-f]{2}-[0-9a-f]{8}$/.test(name) ||
    /^object-[0-9a-f]{12}$/.test(name) ||
    isQuarantineName(name)
  );
}

/** A snapshot name followed by a suffix matching `suffix` (snapshot names have a fixed length). */
function isSnapshotNameWith(name: string, suffix: RegExp): boolean {
  const n = 'YYYY-MM-DD_HH.MM.SS'.length;
  return SNAPSHOT_NAME_RE.test(name.slice(0, n)) && suffix.test(name.slice(n));
}

/** A stable string for an object key, for in-memory maps. */
export function objectKeyString(key: ObjectKey): string {
  return objectName(key);
}

/** Snapshot folder names use the seed's format (model/snapshot-name.ts): YYYY-MM-DD_HH.MM.SS in local time. */
export function snapshotNameFor(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}.${p(d.getMinutes())}.${p(d.getSeconds())}`;
}

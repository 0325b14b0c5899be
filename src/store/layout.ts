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
 * The object file name: `<hash hex>_<mode octal>_<uid>_<gid>_<mtime µs>` plus `_r<N>` for the
 * N-th replica made when one inode reached the file system's link limit (EMLINK). Everything a
 * snapshot file's inode carries is in the name, so `verify` can compare an object with its name
 * and an object can never be mistaken for a variant with other metadata.
 */
export function objectName(key: ObjectKey, replica = 0): string {
  const base = `${key.hash.toString('hex')}_${key.mode.toString(8)}_${key.uid}_${key.gid}_${key.mtimeUs}`;
  return replica === 0 ? base : `${base}_r${replica}`;
}

export function objectPath(layout: StoreLayout, key: ObjectKey, replica = 0): string {
  return path.join(layout.objects, key.hash.toString('hex', 0, 1), objectName(key, replica));
}

const OBJECT_RE = /^([0-9a-f]{64})_([0-7]{1,6})_(\d+)_(\d+)_(-?\d+)(?:_r([1-9]\d*))?$/;

/** Parse an object file name; undefined for anything that is not one (e.g. a stray file). */
export function parseObjectName(name: string): { key: ObjectKey; replica: number } | undefined {
  const m = OBJECT_RE.exec(name);
  if (!m) return undefined;
  const hash = Buffer.from(m[1]!, 'hex');
  if (hash.length !== HASH_BYTES) return undefined;
  return {
    key: { hash, mode: parseInt(m[2]!, 8), uid: Number(m[3]), gid: Number(m[4]), mtimeUs: BigInt(m[5]!) },
    replica: m[6] ? Number(m[6]) : 0,
  };
}

/**
 * Where a damaged object file is moved aside (in .snap/trash, emptied after the run): out of the
 * objects' name space, so a fresh copy can take its name, while the snapshots that still link
 * the damaged inode keep it until `verify --repair` re-links them.
 */
export function quarantineName(trashDir: string, objectFileName: string): string {
  return path.join(trashDir, `damaged-${objectFileName}-${randomBytes(4).toString('hex')}`);
}

/** A stable string for an object key, for in-memory maps. */
export function objectKeyString(key: ObjectKey): string {
  return objectName(key);
}

/** Snapshot folder names use the seed's format: YYYY-MM-DD_HH.MM.SS in local time. */
export const SNAPSHOT_NAME_RE = /^\d{4}-\d{2}-\d{2}_\d{2}\.\d{2}\.\d{2}$/;

export function snapshotNameFor(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}.${p(d.getMinutes())}.${p(d.getSeconds())}`;
}

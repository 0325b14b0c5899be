/**
 * The quick check for readers other than take (diff against .latest, take --dry-run): what a
 * folder's records (src/model/quick-check.ts) say about a file's content without reading it.
 */
import type fs from 'node:fs';
import type { Catalog } from '../../catalog/catalog.js';
import { Kind } from '../../model/entry.js';
import { decodeRecords, recordHolds, type DirRecord } from '../../model/quick-check.js';

/** A folder's records by name (latin1), empty when it has none. */
export function folderRecords(catalog: Catalog, rel: Buffer): Map<string, DirRecord> {
  const row = catalog.getDirCache(rel);
  return row ? decodeRecords(row.records) : new Map();
}

/** The content hash a record vouches for, when it still describes this file exactly. */
export function knownHash(rec: DirRecord | undefined, st: Pick<fs.BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>): Buffer | undefined {
  return recordHolds(rec, Kind.File, st) ? rec.extra : undefined;
}

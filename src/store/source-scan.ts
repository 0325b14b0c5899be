/**
 * Scanning one source folder in a worker thread: list it, lstat every entry, and hard-link each
 * unchanged file (its quick-check record still matches: src/model/quick-check.ts) from the store
 * into the folder being built. Only what needs a decision comes back to the main thread:
 * subfolders, symlinks, new or changed files, and anything that failed. A no-change take is
 * thus almost entirely lstat + link, spread over both cores, with one message per folder.
 *
 * The object to link is named by the record alone (hash + mode/uid/gid/mtime), so the worker
 * needs no catalog: at the start of every take each object file is known to the catalog and
 * complete (the dirty-marker sweep, src/ops/shared/dirty.ts), and a record is only written for a file
 * whose object was linked in a committed take. A link that fails (object gone, link limit)
 * is reported and the main thread takes the careful path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kind } from '../model/entry.js';
import { readRecord, recordHolds, recordName, recordOffsets } from '../model/quick-check.js';
import { objectKeyOf } from '../model/object-key.js';
import { objectName } from './layout.js';
import { errnoCode } from '../errors.js';
import { faultPoint } from '../util/fault.js';

export interface ScanTask {
  srcDir: Buffer;
  stageDir: Buffer;
  objectsDir: string;
  /** The folder's packed records from the last take, if any. */
  records?: Buffer;
  /** False: link nothing (a test seam counts links itself); every entry comes back. */
  link: boolean;
}

/** The lstat fields the main thread needs, as BigInts (like fs.BigIntStats). */
export interface RawStat {
  mode: bigint;
  uid: bigint;
  gid: bigint;
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export interface ScanOther {
  name: Buffer;
  /** Index of the record with this name, or -1. */
  rec: number;
  /** Absent when lstat failed (err says why). */
  st?: RawStat;
  err?: string;
  /** The record matched but linking its object failed with this code. */
  linkErr?: string;
}

export type ScanResult =
  | { error: string }
  | {
      /** Per record: 1 when its file was linked (unchanged). */
      linkedMask: Uint8Array;
      linked: number;
      linkedBytes: number;
      /** Every other entry, in name order. */
      others: ScanOther[];
    };

function errCode(e: unknown): string {
  return errnoCode(e) ?? 'EIO';
}

const SLASH = Buffer.from('/');

function rawStat(st: fs.BigIntStats): RawStat {
  return { mode: st.mode, uid: st.uid, gid: st.gid, dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

export function scanDir(t: ScanTask): ScanResult {
  let names: Buffer[];
  try {
    names = fs.readdirSync(t.srcDir, { encoding: 'buffer' });
  } catch (e) {
    return { error: errCode(e) };
  }
  names.sort(Buffer.compare);
  const recs = t.records;
  const offs = recs ? recordOffsets(recs) : [0];
  const count = offs.length - 1;
  const linkedMask = new Uint8Array(count);
  const others: ScanOther[] = [];
  let linked = 0;
  let linkedBytes = 0;
  let r = 0;
  for (const name of names) {
    // Merge join: records and names are both in byte order.
    let rec = -1;
    while (r < count) {
      const c = Buffer.compare(recordName(recs!, offs[r]!), name);
      if (c < 0) r++;
      else {
        if (c === 0) rec = r;
        break;
      }
    }
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(Buffer.concat([t.srcDir, SLASH, name]), { bigint: true });
    } catch (e) {
      others.push({ name, rec, err: errCode(e) });
      continue;
    }
    if (rec >= 0 && t.link && st.isFile() && recordHolds(recs!, offs[rec]!, Kind.File, st)) {
      const rd = readRecord(recs!, offs[rec]!);
      const objPath = path.join(t.objectsDir, rd.extra.toString('hex', 0, 1), objectName(objectKeyOf(rd.extra, rd)));
      try {
        fs.linkSync(objPath, Buffer.concat([t.stageDir, SLASH, name]));
        faultPoint('object:linked');
      } catch (e) {
        others.push({ name, rec, st: rawStat(st), linkErr: errCode(e) });
        continue;
      }
      linkedMask[rec] = 1;
      linked++;
      linkedBytes += Number(st.size);
      continue;
    }
    others.push({ name, rec, st: rawStat(st) });
  }
  return { linkedMask, linked, linkedBytes, others };
}

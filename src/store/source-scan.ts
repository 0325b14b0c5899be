/**
 * Scanning a source folder in a worker thread: open it, list it, lstat every entry, and
 * hard-link each unchanged file (its quick-check record still holds: src/model/quick-check.ts)
 * from the store into the folder being built. Only what needs a decision comes back to the main
 * thread: subfolders, symlinks, new or changed files, and anything that failed.
 *
 * Never reading outside the source: a folder is opened without following symlinks
 * (O_NOFOLLOW | O_DIRECTORY), relative to its parent's open descriptor, and must be the very
 * inode the parent's lstat saw (device and inode); from then on everything in it — listing,
 * lstat, reading files, reading symlinks — goes through `/proc/self/fd/<fd>/<name>`, which gives
 * Node the `*at()` semantics it lacks: a folder swapped for a symlink or another folder after
 * its lstat is refused (reported as swapped), never entered. The main thread closes the
 * descriptor once the folder is done (the workers share the process's descriptors).
 *
 * One folder of any size: a folder of more than SCAN_CHUNK entries is listed as a stream into
 * one packed, sorted name list (src/util/name-list.ts), handed to the main thread, and scanned
 * a chunk at a time (scanChunk), so memory follows the chunk, not the folder.
 *
 * The object to link is named by the record alone (hash + mode/uid/gid/mtime): at the start of
 * every take each object file is known to the catalog and complete (the dirty-marker sweep,
 * src/ops/shared/dirty.ts). Whether it still is what its name says is checked on the linked
 * inode (src/store/object-check.ts): a damaged object is unlinked again and reported, and the
 * main thread stores a fresh copy from the source.
 */
import fs from 'node:fs';
import { Kind } from '../model/entry.js';
import { extraParts, readRecord, recordHolds, recordName, recordOffsets } from '../model/quick-check.js';
import { objectKeyOf } from '../model/object-key.js';
import { objectName } from './layout.js';
import { objectInodeHolds, objectXattrsHold } from './object-check.js';
import { nameAt, unpackNames } from '../util/name-list.js';
import { markerIn, type FolderMarker } from './folder-markers.js';
import { ErrnoError, errnoCode, isFsError } from '../errors.js';
import { faultPoint } from '../util/fault.js';
import { AT_FDCWD, fdPath, listNamesAt, lstatAt, lstatFields, linkAt, openFolderAt, type LstatFields } from '../util/fsat.js';

/**
 * Folders with more entries than this are scanned a chunk at a time (and their records kept in
 * parts of this many). LINKSNAP_TEST_SCAN_CHUNK makes it small, so tests run many chunks fast.
 */
export const SCAN_CHUNK = Number(process.env.LINKSNAP_TEST_SCAN_CHUNK ?? 0) || 4096;

export interface FolderToOpen {
  /** The open parent folder, or undefined for the top (then `name` is an absolute path). */
  parentFd?: number;
  name: Buffer;
  /** The inode an lstat of it saw: the opened folder must be this one. */
  expect: { dev: bigint; ino: bigint };
}

interface LinkTarget {
  stageDir: Buffer;
  objectsDir: string;
  /** False: link nothing (a test seam counts links itself); every entry comes back. */
  link: boolean;
  /** Compare owners of objects (only meaningful when running as root). */
  owners: boolean;
  /** take --xattrs: records carry attribute digests, and a linked object's attributes are checked too. */
  xattrs: boolean;
}

export interface ScanTask extends LinkTarget {
  folder: FolderToOpen;
  /** The folder's records from the last take (its only part), if any. */
  records?: Buffer;
  /** Hand back the sorted names whatever the folder's size (its records are in several parts). */
  chunked: boolean;
  /** A folder holding one of these keeps only that file (folder-markers.ts). */
  markers?: FolderMarker[];
}

export interface ChunkTask extends LinkTarget {
  fd: number;
  /** Packed names of this chunk, in byte order. */
  names: Buffer;
  /** The records whose names fall in this chunk's range. */
  records?: Buffer;
}

export interface ScanOther {
  name: Buffer;
  /** Index of the record with this name, or -1. */
  rec: number;
  /** The lstat fields the main thread needs; absent when lstat failed (err says why). */
  st?: LstatFields;
  err?: string;
  /** The record held but linking its object failed with this code ('DAMAGED': see the module comment). */
  linkErr?: string;
}

export interface EntriesScan {
  /** Per record: 1 when its file was linked (unchanged). */
  linkedMask: Uint8Array;
  linked: number;
  linkedBytes: number;
  /** Every other entry, in name order. */
  others: ScanOther[];
}

export type ScanResult =
  /** The folder could not be opened or listed; 'SWAPPED': it is no longer the inode its parent saw. */
  | { error: string }
  /** Small, or holding a marker (`marker`: its name; then only the marker was scanned). The folder stays open as `fd`. */
  | { fd: number; scan: EntriesScan; marker?: Buffer }
  /** Big: its names, sorted and packed, to be scanned a chunk at a time. The folder stays open as `fd`. */
  | { fd: number; names: Buffer; count: number };

function errCode(e: unknown): string {
  return errnoCode(e) ?? 'EIO';
}

/** Open a folder without following symlinks and check it is the inode that was seen; its fd or an error code. */
function openFolder(f: FolderToOpen): number | string {
  const fd = openFolderAt(f.parentFd ?? AT_FDCWD, f.name);
  if (typeof fd === 'string') return fd; // ELOOP: a symlink now; ENOTDIR: not a folder now; ENOENT: gone
  const st = fs.fstatSync(fd, { bigint: true });
  if (st.dev !== f.expect.dev || st.ino !== f.expect.ino) {
    fs.closeSync(fd);
    return 'SWAPPED';
  }
  return fd;
}

/**
 * Every name in an open folder, sorted: as Buffers when there are at most SCAN_CHUNK (and the
 * folder is not `chunked`), else packed (util/name-list.ts); and which of `markers` it holds.
 */
function listFolder(fd: number, chunked: boolean, markers: readonly FolderMarker[]): { listed: { names: Buffer[] } | { packed: Buffer; count: number }; markersSeen: Set<string> } {
  const packed = listNamesAt(fd);
  if (typeof packed === 'string') throw new ErrnoError(packed, `${packed}: cannot list a source folder`);
  // One pass over the packed names: count them and note the markers, without a Buffer per name
  // (a big folder stays packed).
  const markersSeen = new Set<string>();
  let count = 0;
  for (let o = 0; o < packed.length; o += 2 + packed.readUInt16LE(o), count++) {
    if (markers.length === 0) continue;
    const name = nameAt(packed, o);
    for (const m of markers) if (m.name.equals(name)) markersSeen.add(name.toString('latin1'));
  }
  const listed = (chunked && count > 0) || count > SCAN_CHUNK ? { packed, count } : { names: unpackNames(packed) };
  return { listed, markersSeen };
}

/** Where unchanged files are linked from and to: the store's objects folder and the folder being built, open. */
interface LinkFolders {
  objects: number;
  stage: number;
}

/** Open the link folders when there is anything to link; the caller closes them (closeLinkFolders). */
function openLinkFolders(t: LinkTarget, records: Buffer | undefined): LinkFolders | string | undefined {
  if (!t.link || !records || records.length === 0) return undefined;
  const objects = openFolderAt(AT_FDCWD, t.objectsDir);
  if (typeof objects === 'string') return objects;
  const stage = openFolderAt(AT_FDCWD, t.stageDir);
  if (typeof stage === 'string') {
    fs.closeSync(objects);
    return stage;
  }
  return { objects, stage };
}

function closeLinkFolders(l: LinkFolders | string | undefined): void {
  if (l === undefined || typeof l === 'string') return;
  fs.closeSync(l.objects);
  fs.closeSync(l.stage);
}

/**
 * Merge the sorted names with the sorted records, lstat each entry, and link every file whose
 * record holds (checking the linked object is still what its name says).
 */
function scanEntries(fd: number, names: readonly Buffer[], records: Buffer | undefined, t: LinkTarget): EntriesScan {
  const folders = openLinkFolders(t, records);
  try {
    return scanEntriesWith(fd, names, records, t, folders);
  } finally {
    closeLinkFolders(folders);
  }
}

function scanEntriesWith(fd: number, names: readonly Buffer[], records: Buffer | undefined, t: LinkTarget, folders: LinkFolders | string | undefined): EntriesScan {
  const offs = records ? recordOffsets(records) : [0];
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
      const c = Buffer.compare(recordName(records!, offs[r]!), name);
      if (c < 0) r++;
      else {
        if (c === 0) rec = r;
        break;
      }
    }
    const st = lstatAt(fd, name);
    if (typeof st === 'string') {
      others.push({ name, rec, err: st });
      continue;
    }
    if (rec >= 0 && folders !== undefined && st.isFile() && recordHolds(records!, offs[rec]!, Kind.File, st)) {
      // The link folders could not be opened: every holding file comes back with that error.
      const linkErr = typeof folders === 'string' ? folders : linkUnchanged(records!, offs[rec]!, name, t, folders);
      if (linkErr) {
        others.push({ name, rec, st: lstatFields(st), linkErr });
        continue;
      }
      linkedMask[rec] = 1;
      linked++;
      linkedBytes += Number(st.size);
      continue;
    }
    others.push({ name, rec, st: lstatFields(st) });
  }
  return { linkedMask, linked, linkedBytes, others };
}

/** Link the object a holding record names into the stage folder; an error code when it could not be. */
function linkUnchanged(records: Buffer, off: number, name: Buffer, t: LinkTarget, folders: LinkFolders): string | undefined {
  const rd = readRecord(records, off);
  const { id: hash, xattrs } = extraParts(rd.extra);
  const key = objectKeyOf(hash, { ...rd, xattrs });
  const objRel = `${hash.toString('hex', 0, 1)}/${objectName(key)}`;
  const linkErr = linkAt(folders.objects, objRel, folders.stage, name);
  if (linkErr) return linkErr;
  faultPoint('object:linked');
  // Checked on the linked inode itself, so nothing can change it between the check and the link.
  const st = lstatAt(folders.stage, name);
  if (typeof st === 'string') return st;
  if (!objectInodeHolds(st, key, rd.size, t.owners) || (t.xattrs && !objectXattrsHold(`${t.objectsDir}/${objRel}`, st, key, t.owners))) {
    fs.unlinkSync(fdPath(folders.stage, name));
    return 'DAMAGED';
  }
  return undefined;
}

/** Open, list and (when small) scan one folder. */
export function scanFolder(t: ScanTask): ScanResult {
  const fd = openFolder(t.folder);
  if (typeof fd === 'string') return { error: fd };
  try {
    const markers = t.markers ?? [];
    const { listed, markersSeen } = listFolder(fd, t.chunked, markers);
    const marker = markersSeen.size > 0 ? markerIn(fdPath(fd), (n) => markersSeen.has(n.toString('latin1')), markers) : undefined;
    // A marked folder keeps only its marker: nothing else is looked at, let alone linked.
    if (marker) return { fd, scan: scanEntries(fd, [marker.name], t.chunked ? undefined : t.records, t), marker: marker.name };
    if ('packed' in listed) return { fd, names: listed.packed, count: listed.count };
    return { fd, scan: scanEntries(fd, listed.names, t.records, t) };
  } catch (e) {
    fs.closeSync(fd);
    if (!isFsError(e)) throw e;
    return { error: errCode(e) };
  }
}

/** Scan one chunk of a big folder (its names and the records in their range). */
export function scanChunk(t: ChunkTask): EntriesScan {
  return scanEntries(t.fd, unpackNames(t.names), t.records, t);
}

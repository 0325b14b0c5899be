/**
 * Marker files that leave a folder's contents out of a take (`--exclude-caches`,
 * `--exclude-if-present <name>`), as tar's `--exclude-caches` / `--exclude-tag` do: a folder
 * holding one keeps only the marker file itself, so the snapshot still shows the folder and why
 * it is empty.
 *
 * `CACHEDIR.TAG` counts only when it starts with the signature of the Cache Directory Tagging
 * Specification (https://bford.info/cachedir/), so a stray file of that name does not hide data.
 * A marker is looked for by the scan worker before it links anything (source-scan.ts) and by
 * `take --dry-run`, both through the folder's own path (never following a symlinked marker).
 */
import fs from 'node:fs';
import { errnoCode } from '../errors.js';

export interface FolderMarker {
  name: Buffer;
  /** The marker counts only when its content starts with these bytes. */
  signature?: Buffer;
}

export const CACHEDIR_TAG = 'CACHEDIR.TAG';
const CACHEDIR_SIGNATURE = Buffer.from('Signature: 8a477f597d28d172789f06886806bc55');

/** The markers a take looks for: the cache tag (when asked) and every --exclude-if-present name. */
export function folderMarkers(excludeCaches: boolean, ifPresent: readonly string[]): FolderMarker[] {
  const markers: FolderMarker[] = excludeCaches ? [{ name: Buffer.from(CACHEDIR_TAG), signature: CACHEDIR_SIGNATURE }] : [];
  for (const name of ifPresent) if (!markers.some((m) => m.name.equals(Buffer.from(name)))) markers.push({ name: Buffer.from(name) });
  return markers;
}

/** The marker among these that a folder's listing holds, if any (signature checked). */
export function markerIn(folder: Buffer, has: (name: Buffer) => boolean, markers: readonly FolderMarker[]): FolderMarker | undefined {
  return markers.find((m) => has(m.name) && markerHolds(Buffer.concat([folder, Buffer.from('/'), m.name]), m));
}

/** A marker file is a regular file (not a symlink) and, when the marker has one, starts with its signature. */
function markerHolds(file: Buffer, m: FolderMarker): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (e) {
    const code = errnoCode(e);
    // A symlink, gone, or unreadable: not a marker (the entry itself is handled as usual).
    if (code === 'ELOOP' || code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'ENXIO') return false;
    throw e;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
    if (!m.signature) return true;
    const head = Buffer.alloc(m.signature.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.equals(m.signature);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creating folders and symlinks in a folder being built, with the metadata `rsync -a` would
 * give. Shared by take and materialize. Files are placed by ObjectPlacer.link (hard links).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { nsToUtimeArg } from '../store/times.js';
import type { EntryMeta } from '../model/entry.js';
import { faultPoint } from '../util/fault.js';

/**
 * Apply a folder's own metadata once its contents are complete: its mode last but one (a
 * read-only source folder must stay writable until filled) and its mtime last (every entry
 * created inside would bump it).
 */
export async function finishDir(p: Buffer | string, meta: EntryMeta, asRoot: boolean): Promise<void> {
  if (asRoot) await fsp.lchown(p, meta.uid, meta.gid);
  await fsp.chmod(p, meta.mode);
  const t = nsToUtimeArg(meta.mtimeNs);
  await fsp.utimes(p, t, t);
  faultPoint('dir:finished');
}

/** A symlink is kept as a symlink (never followed), with its own mtime and owner. */
export async function placeSymlink(target: Buffer, p: Buffer, meta: EntryMeta, asRoot: boolean): Promise<void> {
  await fsp.symlink(target, p);
  if (asRoot) await fsp.lchown(p, meta.uid, meta.gid);
  const t = nsToUtimeArg(meta.mtimeNs);
  await fsp.lutimes(p, t, t);
}

/** A new folder inside one we are building: private until finishDir gives it its mode. */
export async function makeDir(p: Buffer): Promise<void> {
  await fsp.mkdir(p, { mode: 0o700 });
}

// Synchronous twins for take's hot path: one plain syscall each, no promise or thread-pool hop.
// A no-change take is nothing but lstat + link + mkdir per entry, and per-call async overhead
// was most of its time (docs/benchmarks.md).

export function finishDirSync(p: Buffer, meta: EntryMeta, asRoot: boolean): void {
  if (asRoot) fs.lchownSync(p, meta.uid, meta.gid);
  fs.chmodSync(p, meta.mode);
  const t = nsToUtimeArg(meta.mtimeNs);
  fs.utimesSync(p, t, t);
  faultPoint('dir:finished');
}

export function placeSymlinkSync(target: Buffer, p: Buffer, meta: EntryMeta, asRoot: boolean): void {
  fs.symlinkSync(target, p);
  if (asRoot) fs.lchownSync(p, meta.uid, meta.gid);
  const t = nsToUtimeArg(meta.mtimeNs);
  fs.lutimesSync(p, t, t);
}

/**
 * The file-system idioms every layer uses, each written once: look at a path without following
 * a symlink and without treating "nothing there" as an error, and list a folder that may not
 * exist. Only ENOENT and ENOTDIR mean "nothing there"; every other error (EACCES, EIO, ELOOP…)
 * is thrown, so a real problem is never mistaken for an absent file.
 */
import fs from 'node:fs';
import { errnoCode } from '../errors.js';

function isAbsent(e: unknown): boolean {
  const code = errnoCode(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** lstat (never follows a symlink), or undefined when nothing is at `p`. */
export function lstatOrUndefined(p: fs.PathLike): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(p, { bigint: true });
  } catch (e) {
    if (isAbsent(e)) return undefined;
    throw e;
  }
}

/** Something (a dangling symlink too) is at `p`. */
export function lexists(p: fs.PathLike): boolean {
  return lstatOrUndefined(p) !== undefined;
}

/** A folder's names, or none when it does not exist. */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    if (isAbsent(e)) return [];
    throw e;
  }
}

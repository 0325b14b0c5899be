/**
 * Finding the source: <root>/.latest, a folder or a symlink to one. linksnap only reads it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LATEST } from '../../store/layout.js';
import { SnapError, errnoCode } from '../../errors.js';

export interface Source {
  /** <root>/.latest as given. */
  latest: string;
  /** The folder it resolves to (symlinks followed). */
  real: string;
}

export function findSource(root: string): Source {
  const latest = path.join(root, LATEST);
  const hints =
    `either symlink the data to back up: ln -s /path/to/data ${latest}\n` +
    `  or create the folder and sync into it: mkdir ${latest}`;
  let lst: fs.Stats;
  try {
    lst = fs.lstatSync(latest);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new SnapError('NO_LATEST', `${latest} does not exist`, { hint: hints });
    throw new SnapError('NO_LATEST', `cannot access ${latest}: ${(e as Error).message}`);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(latest);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
      throw new SnapError('NO_LATEST', `${latest} is a symlink that does not point to a directory`, { hint: hints });
    }
    throw new SnapError('NO_LATEST', `cannot access ${latest}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) {
    const what = lst.isSymbolicLink() ? 'a symlink that does not point to a directory' : 'not a directory';
    throw new SnapError('NO_LATEST', `${latest} is ${what}`, { hint: hints });
  }
  const real = fs.realpathSync(latest);
  const realRoot = fs.realpathSync(root);
  if (realRoot === real || realRoot.startsWith(real.endsWith('/') ? real : real + '/')) {
    throw new SnapError('NO_LATEST', `${latest} points at ${real}, which contains the backup root itself`, {
      hint: 'point .latest at the data only; backing up the backups would grow without end',
    });
  }
  return { latest, real };
}

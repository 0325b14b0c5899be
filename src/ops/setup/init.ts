/**
 * `snap init <root> [--source <dir>]`: set up a backup root in one step — create <root>, make
 * `.latest` a symlink to the data (or an empty folder to sync into), create the store, and
 * return the cron line to run nightly. Idempotent: what already exists and fits is left alone;
 * a `.latest` that points somewhere else is refused rather than re-pointed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { withLockedRoot } from '../shared/root.js';
import { findSource } from '../shared/source.js';
import { LATEST, STORE_DIR } from '../../store/layout.js';
import { SnapError } from '../../errors.js';
import { lstatOrUndefined } from '../../util/fs.js';

export interface InitOptions {
  /** The folder to back up; `.latest` becomes a symlink to it. Without it, an empty folder. */
  source?: string;
}

export interface InitResult {
  root: string;
  latest: string;
  /** The folder `.latest` resolves to. */
  source: string;
  created: { root: boolean; latest: boolean; store: boolean };
}

export async function init(rootArg: string, opts: InitOptions = {}): Promise<InitResult> {
  if (!rootArg) throw new SnapError('USAGE', 'missing <root> argument');
  const root = path.resolve(rootArg);
  const created = { root: false, latest: false, store: false };

  let source: string | undefined;
  if (opts.source !== undefined) {
    source = path.resolve(opts.source);
    const st = fs.statSync(source, { throwIfNoEntry: false });
    if (!st?.isDirectory()) {
      throw new SnapError('USAGE', `--source ${source} is not a folder`, { hint: 'give the folder to back up, e.g. --source /srv/music' });
    }
    const realSource = fs.realpathSync(source);
    const rootAbs = fs.existsSync(root) ? fs.realpathSync(root) : root;
    if (rootAbs === realSource || rootAbs.startsWith(realSource + '/')) {
      throw new SnapError('USAGE', `the backup root ${root} is inside --source ${source}`, {
        hint: 'keep the backups outside the data they back up (it would back up its own backups)',
      });
    }
  }

  const rootSt = lstatOrUndefined(root);
  if (rootSt && !fs.statSync(root).isDirectory()) throw new SnapError('BAD_ROOT', `${root} exists and is not a folder`);
  if (!rootSt) {
    fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    created.root = true;
  }

  const latest = path.join(root, LATEST);
  const latestSt = lstatOrUndefined(latest);
  if (latestSt) {
    if (source !== undefined) {
      const points = latestSt.isSymbolicLink() ? path.resolve(root, fs.readlinkSync(latest)) : undefined;
      if (points !== source) {
        throw new SnapError('EXISTS', `${latest} already exists${points ? ` and points to ${points}` : ''}`, {
          hint: `to back up ${source} instead: rm ${latest} && snap init ${root} --source ${source}`,
        });
      }
    }
  } else if (source !== undefined) {
    fs.symlinkSync(source, latest);
    created.latest = true;
  } else {
    fs.mkdirSync(latest, { mode: 0o755 });
    created.latest = true;
  }
  const resolved = findSource(root); // the same checks a take makes

  created.store = !fs.existsSync(path.join(root, STORE_DIR));
  await withLockedRoot(root, 'init', { create: true }, async () => {});
  return { root, latest, source: resolved.real, created };
}

/**
 * The crontab line for a nightly take. Absolute paths for node and the CLI: cron runs with
 * PATH=/usr/bin:/bin, where neither `snap` nor `node` usually is.
 */
export function cronLine(root: string, cliScript: string): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `0 3 * * *  ${q(process.execPath)} ${q(cliScript)} take ${q(root)} --quiet`;
}

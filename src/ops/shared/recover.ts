/**
 * Cleaning up after runs that were killed or failed, at the start of every run that holds the
 * lock. Everything here is idempotent: a recovery killed half-way is finished by the next one.
 */
import type { BigIntStats } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import { fsyncDir } from '../../store/durability.js';
import { isStagingName, isTmpName, isTrashName, type StoreLayout } from '../../store/layout.js';
import { assertSnapshotName, isSnapshotName } from '../../model/snapshot-name.js';
import { trashPath } from './remove.js';
import { errnoCode } from '../../errors.js';
import { lexists, listDir, lstatOrUndefined } from '../../util/fs.js';

export interface RecoveryReport {
  tmpFilesRemoved: number;
  stagingRemoved: string[];
  /** Committed snapshots whose folder was still in staging: moved into place. */
  stagingPublished: string[];
  /** Prunes that were interrupted and have now been finished. */
  prunesFinished: string[];
  /** What is in .snap/tmp or .snap/staging under a name linksnap never makes: left in place. */
  unknown: string[];
}

/** The contents of .snap/tmp and .snap/staging, sorted into linksnap's leftovers and the rest. */
export interface Leftovers {
  /** Files in tmp named as linksnap names them (layout.ts, isTmpName). */
  tmp: string[];
  /** Folders in staging named as linksnap names them (isStagingName). */
  staging: string[];
  /** Everything else, as paths relative to the root (`.snap/tmp/<name>`): never deleted. */
  unknown: string[];
}

export function findLeftovers(layout: StoreLayout): Leftovers {
  const out: Leftovers = { tmp: [], staging: [], unknown: [] };
  const classify = (dir: string, ours: (name: string, st: BigIntStats) => boolean, into: string[]) => {
    for (const name of listDir(dir)) {
      const st = lstatOrUndefined(path.join(dir, name));
      if (!st) continue; // gone meanwhile
      if (ours(name, st)) into.push(name);
      else out.unknown.push(path.relative(layout.root, path.join(dir, name)));
    }
  };
  classify(layout.tmp, (n, st) => isTmpName(n) && !st.isDirectory(), out.tmp);
  classify(layout.staging, (n, st) => isStagingName(n) && st.isDirectory(), out.staging);
  return out;
}

/** Delete a folder tree, first making its folders writable (snapshots keep read-only modes). */
export async function removeTree(p: string): Promise<void> {
  try {
    await fsp.rm(p, { recursive: true, force: true });
  } catch (e) {
    if (errnoCode(e) !== 'EACCES' && errnoCode(e) !== 'EPERM') throw e;
    await makeWritable(p);
    await fsp.rm(p, { recursive: true, force: true });
  }
}

async function makeWritable(p: string): Promise<void> {
  const st = await fsp.lstat(p);
  if (!st.isDirectory()) return;
  await fsp.chmod(p, 0o700);
  for (const name of await fsp.readdir(p)) await makeWritable(path.join(p, name));
}

/**
 * Finish or undo what killed runs left: tmp files, staging folders (published when their
 * snapshot is committed, else removed), interrupted removals. Only names linksnap makes are
 * touched; every snapshot name is checked before its folder is moved (a row with another name
 * refuses the run, UNSAFE_PATH, before anything is done).
 */
export async function recover(root: Root): Promise<RecoveryReport> {
  const { layout, catalog } = root;
  const deleting = catalog.listSnapshots().filter((s) => s.state === 'deleting');
  for (const s of deleting) assertSnapshotName(s.name);
  const found = findLeftovers(layout);
  const report: RecoveryReport = { tmpFilesRemoved: 0, stagingRemoved: [], stagingPublished: [], prunesFinished: [], unknown: found.unknown };

  for (const name of found.tmp) {
    await fsp.rm(path.join(layout.tmp, name), { force: true });
    report.tmpFilesRemoved++;
  }

  for (const name of found.staging) {
    const staged = path.join(layout.staging, name);
    const snap = isSnapshotName(name) ? catalog.getSnapshot(name) : undefined;
    const final = path.join(layout.root, name);
    if (snap && snap.state === 'complete' && !lexists(final)) {
      // The catalog commit happened, the rename did not: the staged folder is complete.
      await fsp.rename(staged, final);
      await fsyncDir(layout.root);
      report.stagingPublished.push(name);
    } else {
      await removeTree(staged);
      report.stagingRemoved.push(name);
    }
  }

  for (const snap of deleting) {
    const folder = path.join(layout.root, snap.name);
    if (lexists(folder)) await fsp.rename(folder, await trashPath(layout.trash, snap.name));
    catalog.deleteSnapshot(snap.name);
    report.prunesFinished.push(snap.name);
  }
  return report;
}

/** The contents of .snap/trash: what linksnap moved there (isTrashName), and anything else. */
export function trashContents(layout: StoreLayout): { ours: string[]; unknown: string[] } {
  const out = { ours: [] as string[], unknown: [] as string[] };
  for (const name of listDir(layout.trash)) {
    if (isTrashName(name)) out.ours.push(name);
    else out.unknown.push(path.relative(layout.root, path.join(layout.trash, name)));
  }
  return out;
}

/**
 * Empty .snap/trash; run after the lock is released so a big delete never delays the next run.
 * Only what linksnap moved there is deleted; anything else stays (`snap gc` reports it).
 */
export async function emptyTrash(root: { layout: StoreLayout }): Promise<void> {
  for (const name of trashContents(root.layout).ours) await removeTree(path.join(root.layout.trash, name));
}

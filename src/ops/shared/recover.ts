/**
 * Cleaning up after runs that were killed or failed, at the start of every run that holds the
 * lock. Everything here is idempotent: a recovery killed half-way is finished by the next one.
 */
import type { BigIntStats } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import { bootId, fsyncDir } from '../../store/durability.js';
import { rebuildInPlace } from './build-folder.js';
import { ObjectPlacer } from './object-placer.js';
import { isStagingName, isTmpName, isTrashName, type StoreLayout } from '../../store/layout.js';
import { assertSnapshotName, isSnapshotName } from '../../model/snapshot-name.js';
import { trashPath } from './remove.js';
import { isSnapError } from '../../errors.js';
import { lexists, listDir, lstatOrUndefined, removeTree } from '../../util/fs.js';

export interface RecoveryReport {
  tmpFilesRemoved: number;
  stagingRemoved: string[];
  /** Committed snapshots whose folder was still in staging: moved into place. */
  stagingPublished: string[];
  /** Prunes that were interrupted and have now been finished. */
  prunesFinished: string[];
  /** What is in .snap/tmp or .snap/staging under a name linksnap never makes: left in place. */
  unknown: string[];
  /** Dated folders of an earlier boot not known to be on disk: rebuilt from the catalog. */
  foldersRebuilt: string[];
  /** ... and those that could not be rebuilt (an object is missing: `snap verify` names it). */
  foldersNotRebuilt: string[];
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
  const report: RecoveryReport = { tmpFilesRemoved: 0, stagingRemoved: [], stagingPublished: [], prunesFinished: [], unknown: found.unknown, foldersRebuilt: [], foldersNotRebuilt: [] };

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
  await rebuildUnflushedFolders(root, report);
  return report;
}

/**
 * Dated folders are views of the catalog and a take does not flush them (store/durability.ts);
 * each is marked with the boot it was made in until it is known to be on disk. One still marked
 * from an earlier boot may have lost entries in a power cut: it is rebuilt from the catalog (and
 * flushed), whatever it looks like. A folder that cannot be rebuilt keeps what it has; its mark
 * goes, so the next runs are not blocked, and `snap verify` names what is missing.
 */
async function rebuildUnflushedFolders(root: Root, report: RecoveryReport): Promise<void> {
  const boot = bootId();
  if (!boot) return;
  const marked = root.catalog.foldersMarkedBefore(boot);
  if (marked.length === 0) return;
  const placer = new ObjectPlacer(root);
  for (const name of marked) {
    const snap = root.catalog.getSnapshot(name)!;
    try {
      await rebuildInPlace(root, snap, placer);
      report.foldersRebuilt.push(name);
    } catch (e) {
      if (!isSnapError(e)) throw e;
      report.foldersNotRebuilt.push(name);
    }
    root.catalog.clearFolderMark(name);
  }
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

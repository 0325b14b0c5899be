/**
 * Cleaning up after runs that were killed or failed, at the start of every run that holds the
 * lock. Everything here is idempotent: a recovery killed half-way is finished by the next one.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from './root.js';
import { fsyncDir } from '../../store/durability.js';
import { trashPath } from './remove.js';
import { errnoCode } from '../../errors.js';
import { lexists, listDir } from '../../util/fs.js';

export interface RecoveryReport {
  tmpFilesRemoved: number;
  stagingRemoved: string[];
  /** Committed snapshots whose folder was still in staging: moved into place. */
  stagingPublished: string[];
  /** Prunes that were interrupted and have now been finished. */
  prunesFinished: string[];
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

export async function recover(root: Root): Promise<RecoveryReport> {
  const { layout, catalog } = root;
  const report: RecoveryReport = { tmpFilesRemoved: 0, stagingRemoved: [], stagingPublished: [], prunesFinished: [] };

  for (const name of listDir(layout.tmp)) {
    await fsp.rm(path.join(layout.tmp, name), { force: true, recursive: true });
    report.tmpFilesRemoved++;
  }

  for (const name of listDir(layout.staging)) {
    const staged = path.join(layout.staging, name);
    const snap = catalog.getSnapshot(name);
    const final = path.join(layout.root, name);
    if (snap && snap.state === 'complete' && !(lexists(final))) {
      // The catalog commit happened, the rename did not: the staged folder is complete.
      await fsp.rename(staged, final);
      await fsyncDir(layout.root);
      report.stagingPublished.push(name);
    } else {
      await removeTree(staged);
      report.stagingRemoved.push(name);
    }
  }

  for (const snap of catalog.listSnapshots()) {
    if (snap.state !== 'deleting') continue;
    const folder = path.join(layout.root, snap.name);
    if (lexists(folder)) await fsp.rename(folder, await trashPath(layout.trash, snap.name));
    catalog.deleteSnapshot(snap.name);
    report.prunesFinished.push(snap.name);
  }
  return report;
}

/** Empty .snap/trash; run after the lock is released so a big delete never delays the next run. */
export async function emptyTrash(root: { layout: { trash: string } }): Promise<void> {
  for (const name of listDir(root.layout.trash)) await removeTree(path.join(root.layout.trash, name));
}

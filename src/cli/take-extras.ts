/**
 * The parts of `snap take` that are not the take itself: `--dry-run` (list what would be
 * stored and what is excluded, change nothing) and the progress line. Kept apart so
 * commands/take.ts stays a thin wrapper around ops/take.
 */
import type { DryRunEntry } from '../ops/take/dry-run.js';
import { layoutFor } from '../store/layout.js';
import { processIo as io } from './run.js';
import { EXIT } from './exit-codes.js';
import { formatBytes, plural, toJson } from './format.js';
import { excludesFor, type ExcludeCliOptions } from './excludes-options.js';
import { startProgress } from './progress.js';
import fs from 'node:fs';
import path from 'node:path';
import { isSnapError } from '../errors.js';
import type { BoundaryOptions } from '../ops/take/boundaries.js';
import { lazy } from './lazy.js';

const takeDryRun = lazy(() => import('../ops/take/dry-run.js'), 'takeDryRun');
const listSnapshots = lazy(() => import('../ops/browse/list.js'), 'listSnapshots');

/** The boundary options of `take` (and its --dry-run), as commander gives them. */
export interface BoundaryCliOptions {
  oneFileSystem?: boolean;
  excludeCaches?: boolean;
  excludeIfPresent?: string[];
}

export function boundariesOf(o: BoundaryCliOptions): BoundaryOptions {
  return { oneFileSystem: o.oneFileSystem, excludeCaches: o.excludeCaches, excludeIfPresent: o.excludeIfPresent };
}

const MARK: Record<DryRunEntry['status'], string> = { changed: '+', unchanged: '=', included: '=', excluded: '-', emptied: '-', skipped: '!' };

/**
 * `take --dry-run`. Human output, one path a line on stdout: `+` a file a take would read (new
 * or changed), `-` excluded or a folder kept empty, `!` skipped (special or unreadable); with --verbose also `=` for
 * unchanged files, folders and symlinks. --json: the totals plus every entry.
 */
export async function runTakeDryRun(
  rootArg: string,
  o: ExcludeCliOptions & BoundaryCliOptions & { checksum?: boolean; xattrs?: boolean; allowShrink?: boolean; json?: boolean; quiet?: boolean; verbose?: boolean },
): Promise<number> {
  const entries: DryRunEntry[] = [];
  const r = await takeDryRun(rootArg, {
    exclude: excludesFor(rootArg, o),
    boundaries: boundariesOf(o),
    checksum: o.checksum,
    xattrs: o.xattrs,
    allowShrink: o.allowShrink,
    onEntry: (e) => {
      if (o.json) entries.push(e);
      else if (o.verbose || (e.status !== 'unchanged' && e.status !== 'included')) {
        const slash = e.kind === 'dir' ? '/' : '';
        io.out(`${MARK[e.status]} ${e.path}${slash}${e.reason ? `  (${e.reason})` : ''}\n`);
      }
    },
  });
  if (o.json) {
    io.out(toJson({ ...r, entries }));
    return EXIT.OK;
  }
  if (!o.quiet) {
    io.err(
      `snap: dry run, nothing changed: would snapshot ${plural(r.files, 'file')} (${formatBytes(r.bytes)}), ${plural(r.dirs, 'folder')}, ${plural(r.symlinks, 'symlink')}; ` +
        `would read ${plural(r.changedFiles, 'new or changed file')} (${formatBytes(r.changedBytes)}); ${r.excluded} excluded, ${r.emptied ? `${plural(r.emptied, 'folder')} kept empty, ` : ''}${r.skipped} skipped\n`,
    );
  }
  // Even with --quiet: the real take would store nothing (a preview still exits 0).
  if (r.wouldRefuse) io.err(`snap: dry run: the real take would refuse: ${r.wouldRefuse}\n`);
  return EXIT.OK;
}

/**
 * The progress line of a take: files and bytes done, rate, and an ETA estimated from the
 * previous snapshot's size (a take walks everything; most of it is usually unchanged).
 */
export async function startTakeProgress(rootArg: string, quiet: boolean | undefined) {
  const progress = startProgress({ label: 'take', quiet });
  let totalBytes = 0;
  let totalItems = 0;
  if (progress.active && fs.existsSync(layoutFor(path.resolve(rootArg)).catalog)) {
    const last = await (async () => {
      try {
        return (await listSnapshots(rootArg)).at(-1);
      } catch (e) {
        if (!isSnapError(e)) throw e;
        return undefined; // only an estimate; the take reports real problems itself
      }
    })();
    totalBytes = last?.bytes ?? 0;
    totalItems = last?.files ?? 0;
  }
  let doneBytes = 0;
  let doneItems = 0;
  return {
    onFile: progress.active
      ? (bytes: number, files = 1) => {
          doneBytes += bytes;
          doneItems += files;
          // The source may have grown since the last snapshot: never show more than 100%.
          progress.update({ doneBytes, doneItems, totalBytes: Math.max(totalBytes, doneBytes), totalItems: Math.max(totalItems, doneItems) });
        }
      : undefined,
    async run<T>(fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } finally {
        progress.stop();
      }
    },
  };
}

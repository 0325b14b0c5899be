import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT, exitCodeOfError } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { nonNegativeNumber, positiveInt, repeatable } from '../options.js';
import { excludeOption, excludesFor, noDefaultExcludesOption, type ExcludeCliOptions } from '../excludes-options.js';
import { boundariesOf, runTakeDryRun, startTakeProgress, type BoundaryCliOptions } from '../take-extras.js';
import { showName } from '../../util/paths.js';
import { lazy } from '../lazy.js';

const take = lazy(() => import('../../ops/take/take.js'), 'take');

type TakeCliOptions = ExcludeCliOptions &
  BoundaryCliOptions & { keep?: number; checksum?: boolean; xattrs?: boolean; allowShrink?: boolean; wait: number; json?: boolean; quiet?: boolean; verbose?: boolean; dryRun?: boolean; skipUnchanged?: boolean; hooks: boolean };

export function registerTake(program: Command): void {
  program
    .command('take')
    .description('snapshot <root>/.latest into <root>/YYYY-MM-DD_HH.MM.SS, then apply the retention policy')
    .argument('<root>', 'the backup root: the folder holding .latest and the dated folders')
    .option('--keep <n>', `keep the newest n snapshots this run (the seed's numRotations); default: the saved policy (snap config), else 16`, positiveInt('--keep'))
    .option('--checksum', 're-hash every file instead of trusting size, mtime, ctime and inode')
    .option('--xattrs', 'record extended attributes (user.*, POSIX ACLs, file capabilities, trusted.* as root); default: the saved take.xattrs')
    .option('--no-xattrs', 'do not record extended attributes, whatever take.xattrs says')
    .option('--allow-shrink', 'take the source even if it is empty or lost more than take.max-shrink (default 50%) of the last snapshot\'s files or bytes')
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .option('--json', 'print a JSON summary on stdout instead of the path')
    .option('-q, --quiet', 'no summary on stderr')
    .option('-v, --verbose', 'also list excluded paths and how many files were read')
    .option('--dry-run', 'list what would be stored and what is excluded; change nothing (no store, no lock, no hooks)')
    .option('--no-hooks', 'run none of the saved hooks (hooks.pre, hooks.post, hooks.failure) this time')
    .addOption(excludeOption())
    .addOption(noDefaultExcludesOption())
    .option('--one-file-system', 'do not descend into other file systems below .latest: a mount point is kept as an empty folder (saved: take.one-file-system)')
    .option('--exclude-caches', 'leave out the contents of folders holding a valid CACHEDIR.TAG, keeping the tag file (saved: take.exclude-caches)')
    .option('--exclude-if-present <name>', 'leave out the contents of folders holding a file of this name, keeping that file (repeatable; saved: take.exclude-if-present)', repeatable)
    .option('--skip-unchanged', 'when nothing changed since the newest snapshot, make no new one and rotate nothing; print the newest one\'s path (saved: take.skip-unchanged)')
    .action(
      action(async (rootArg: string, o: TakeCliOptions) => {
        if (o.dryRun) return runTakeDryRun(rootArg, o);
        const exclude = excludesFor(rootArg, o, o.verbose ? (p) => io.err(`snap: excluded: ${p}\n`) : undefined);
        const onBoundary = o.verbose ? (rel: Buffer, why: string) => io.err(`snap: kept empty: ${showName(rel)}/ (${why})\n`) : undefined;
        const progress = await startTakeProgress(rootArg, o.quiet || o.json);
        const r = await progress.run(() =>
          take(rootArg, {
            keep: o.keep,
            checksum: o.checksum,
            xattrs: o.xattrs,
            allowShrink: o.allowShrink,
            waitMs: o.wait * 1000,
            exclude,
            boundaries: boundariesOf(o),
            onBoundary,
            skipUnchanged: o.skipUnchanged,
            onFile: progress.onFile,
            noHooks: !o.hooks,
            exitCodeOf: exitCodeOfError,
            // pre's failure is the take's error; post's is a warning below; failure's is said here.
            onHook: (h) => {
              if (h.hook === 'failure' && !h.ok) io.err(`snap: warning: ${h.message}\n`);
            },
          }),
        );
        for (const w of r.warnings) io.err(`snap: warning: ${w.path}: ${w.message}\n`);
        if (r.warningCount > r.warnings.length) io.err(`snap: warning: ... and ${r.warningCount - r.warnings.length} more\n`);
        const hookFailed = r.hooks.filter((h) => !h.ok);
        for (const h of hookFailed) io.err(`snap: warning: ${h.message} (the snapshot ${r.snapshot} is complete)\n`);
        if (o.json) {
          io.out(
            toJson({
              skipped: r.skipped,
              snapshot: r.snapshot,
              path: r.path,
              files: r.files,
              dirs: r.dirs,
              symlinks: r.symlinks,
              bytes: r.bytes,
              hashedFiles: r.hashedFiles,
              hashedBytes: r.hashedBytes,
              newObjects: r.newObjects,
              newBytes: r.newBytes,
              dedupBytes: r.dedupBytes,
              rotated: r.rotated,
              freedObjects: r.gc?.objects ?? 0,
              freedBytes: r.gc?.bytes ?? 0,
              warnings: r.warnings,
              warningCount: r.warningCount,
              hooks: r.hooks.map(({ hook, status, signal, timedOut, ok, message, seconds }) => ({ hook, status, signal, timedOut, ok, message, seconds })),
              seconds: r.seconds,
            }),
          );
        } else {
          if (!o.quiet && r.skipped) {
            io.err(`snap: nothing changed since ${r.snapshot}; no new snapshot (--skip-unchanged)\n`);
          } else if (!o.quiet) {
            const rot = r.rotated.length ? `; rotated out ${plural(r.rotated.length, 'snapshot')}, freed ${formatBytes(r.gc?.bytes ?? 0)}` : '';
            io.err(
              `snap: ${r.snapshot}: ${plural(r.files, 'file')}, ${formatBytes(r.bytes)}; ` +
                `${formatBytes(r.newBytes)} new in ${plural(r.newObjects, 'blob')}, ${formatBytes(r.dedupBytes)} shared${rot}; ` +
                `${formatSeconds(r.seconds)}\n`,
            );
            if (o.verbose) io.err(`snap: read and hashed ${plural(r.hashedFiles, 'file')} (${formatBytes(r.hashedBytes)}); the rest were unchanged (quick check)\n`);
          }
          io.out(r.path + '\n'); // last line of stdout, as the seed script prints its folder
        }
        return r.warningCount > 0 || hookFailed.length > 0 ? EXIT.WARNINGS : EXIT.OK;
      }),
    );
}

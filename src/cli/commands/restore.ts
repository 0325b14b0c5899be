import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { startProgress } from '../progress.js';
import { lazy } from '../lazy.js';

const restore = lazy(() => import('../../ops/browse/restore.js'), 'restore');

export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description('copy a file, a folder or a whole snapshot out of a snapshot, as independent files with their metadata')
    .argument('<root>', 'the backup root')
    .argument('<snapshot>', 'the snapshot name (or its folder path)')
    .argument('[path]', 'the file or folder inside the snapshot (default: all of it)')
    .requiredOption('--to <dest>', 'where to: inside <dest> when it is an existing folder, else <dest> is the new name')
    .option('--force', 'merge into an existing target: replace files and symlinks in the way, keep everything else')
    .option('--delete', 'make the target equal to the snapshot path: also remove what the snapshot does not have below the target (implies --force; never outside the target)')
    .option('--dry-run', 'with --delete: list what would be removed, one path a line on stdout; change nothing')
    .option('--json', 'print a JSON summary on stdout')
    .option('-q, --quiet', 'no summary on stderr')
    .option('-v, --verbose', 'also say how many existing paths were replaced and how long it took')
    .action(
      action(async (rootArg: string, snapshot: string, relPath: string | undefined, o: { to: string; force?: boolean; delete?: boolean; dryRun?: boolean; json?: boolean; quiet?: boolean; verbose?: boolean }) => {
        const progress = startProgress({ label: 'restore', quiet: o.quiet || o.json });
        let r;
        try {
          r = await restore(rootArg, snapshot, { path: relPath, to: o.to, force: o.force, delete: o.delete, dryRun: o.dryRun, onProgress: progress.update });
        } finally {
          progress.stop();
        }
        for (const w of r.warnings) io.err(`snap: warning: ${w.path}: ${w.message}\n`);
        const code = r.warnings.length > 0 ? EXIT.WARNINGS : EXIT.OK;
        if (o.json) {
          const { targetBytes: _bytes, ...shown } = r;
          io.out(toJson(shown));
          return code;
        }
        if (r.dryRun) {
          for (const p of r.removed) io.out(p + '\n');
          if (!o.quiet) io.err(`snap: dry run, nothing changed: --delete would remove ${plural(r.removed.length, 'path')} below ${r.target}\n`);
          return EXIT.OK;
        }
        if (o.verbose) for (const p of r.removed) io.err(`snap: removed ${p}\n`);
        if (!o.quiet) {
          const what = r.kind === 'dir' ? `${plural(r.files, 'file')}, ${plural(r.dirs, 'folder')}, ${plural(r.symlinks, 'symlink')}, ${formatBytes(r.bytes)}` : r.kind === 'file' ? formatBytes(r.bytes) : 'symlink';
          const extra =
            (o.delete ? `; ${plural(r.removed.length, 'path')} the snapshot lacks removed` : '') +
            (o.verbose ? `; ${plural(r.replaced, 'existing path')} replaced; ${formatSeconds(r.seconds)}` : '');
          io.err(`snap: restored ${r.path} from ${r.snapshot} (${what})${extra}\n`);
        }
        io.out(r.target + '\n');
        return code;
      }),
    );
}

import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { nonNegativeNumber } from '../options.js';
import { showName } from '../../util/paths.js';
import { lazy } from '../lazy.js';

const gc = lazy(() => import('../../ops/retention/gc.js'), 'gc');

export function registerGc(program: Command): void {
  program
    .command('gc')
    .description('remove objects no snapshot references, and the leftovers of interrupted runs')
    .argument('<root>', 'the backup root')
    .option('--dry-run', 'change nothing; report what would be removed')
    .option('--json', 'print a JSON report on stdout')
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .addHelpText(
      'after',
      '\nMarks from the catalog, never from link counts; holds the root lock, so it is safe next to cron takes.\n' +
        'Deletes only names linksnap gives in .snap; anything else there is listed (exit 3) and left.\nSee docs/retention.md.',
    )
    .action(
      action(async (rootArg: string, o: { dryRun?: boolean; json?: boolean; wait: number }) => {
        const r = await gc(rootArg, { dryRun: o.dryRun, waitMs: o.wait * 1000 });
        // Names linksnap never gives are not its to delete: listed, and the run says so (exit 3).
        for (const p of r.unknown) io.err(`snap: warning: ${showName(Buffer.from(p))}: not made by linksnap; left in place\n`);
        const code = r.unknown.length > 0 ? EXIT.WARNINGS : EXIT.OK;
        if (o.json) {
          io.out(toJson(r));
          return code;
        }
        const verb = r.dryRun ? 'would free' : 'freed';
        io.out(
          `${verb} ${plural(r.objects, 'object')} (${formatBytes(r.bytes)}) and ${plural(r.trees, 'tree record')}; ` +
            `${plural(r.strays, 'stray file')} (${formatBytes(r.strayBytes)}), ${plural(r.tmpFiles, 'tmp file')}, ` +
            `${plural(r.stagingFolders, 'staging folder')}, ${plural(r.unfinishedRemovals, 'unfinished removal')}, ` +
            `${plural(r.trashFolders, 'trash folder')}; ${formatSeconds(r.seconds)}\n`,
        );
        return code;
      }),
    );
}

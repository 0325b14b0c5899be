import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { nonNegativeNumber } from '../options.js';
import { lazy } from '../lazy.js';

const materialize = lazy(() => import('../../ops/verify/materialize.js'), 'materialize');

export function registerMaterialize(program: Command): void {
  program
    .command('materialize')
    .description('rebuild dated folders from the catalog (default: the missing or damaged ones), or build one elsewhere with --to')
    .argument('<root>', 'the backup root')
    .argument('[snapshots...]', 'the snapshots to rebuild (with --to: the one to build; default the newest)')
    .option('--all', 'rebuild every snapshot')
    .option('--to <dir>', 'build the snapshot in <dir> (new, or an empty folder): hard links on the same file system, copies elsewhere')
    .option('--copy', 'with --to: make independent copies even on the same file system (safe to edit)')
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .option('--json', 'print a JSON summary')
    .action(
      action(async (rootArg: string, snapshots: string[], o: { all?: boolean; to?: string; copy?: boolean; wait: number; json?: boolean }) => {
        const r = await materialize(rootArg, { snapshots, all: o.all, to: o.to, copy: o.copy, waitMs: o.wait * 1000 });
        if (o.json) {
          io.out(toJson(r));
          return EXIT.OK;
        }
        if (r.snapshots.length === 0) io.err('snap: every dated folder is in place; nothing to rebuild\n');
        for (const s of r.snapshots) {
          const how = s.copied ? `${plural(s.copied, 'file')} copied` + (s.linked ? `, ${s.linked} linked` : '') : `${plural(s.linked, 'file')} linked`;
          io.err(`snap: ${s.name}: ${how}, ${plural(s.dirs, 'folder')}, ${plural(s.symlinks, 'symlink')}, ${formatBytes(s.bytes)}\n`);
          if (s.saved.length) {
            io.err(`snap: ${s.name}: moved ${plural(s.saved.length, 'path')} that were not the snapshot's to .snap/lost+found:\n`);
            for (const x of s.saved) io.err(`  ${x.path} → ${x.to}\n`);
          }
          io.out(s.path + '\n');
        }
        io.err(`snap: done in ${formatSeconds(r.seconds)}\n`);
        return EXIT.OK;
      }),
    );
}

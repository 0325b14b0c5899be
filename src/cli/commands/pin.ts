import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { toJson } from '../format.js';
import { nonNegativeNumber } from '../options.js';
import { lazy } from '../lazy.js';

const setPinned = lazy(() => import('../../ops/retention/pin.js'), 'setPinned');

function register(program: Command, pinned: boolean): void {
  const name = pinned ? 'pin' : 'unpin';
  program
    .command(name)
    .description(pinned ? 'keep snapshots forever: prune and rotation never remove them' : 'let prune and rotation remove these snapshots again')
    .argument('<root>', 'the backup root')
    .argument('<snapshot...>', 'snapshot names (or paths to their dated folders)')
    .option('--json', 'print a JSON report on stdout')
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .action(
      action(async (rootArg: string, snapshots: string[], o: { json?: boolean; wait: number }) => {
        const r = await setPinned(rootArg, snapshots, pinned, { waitMs: o.wait * 1000 });
        if (o.json) io.out(toJson(r));
        else for (const s of r.snapshots) io.out(`${s.name}: ${s.changed ? name + 'ned' : `already ${name}ned`}\n`);
        return EXIT.OK;
      }),
    );
}

export function registerPin(program: Command): void {
  register(program, true);
  register(program, false);
}

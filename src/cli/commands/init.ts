import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { init, cronLine } from '../../ops/setup/init.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { toJson } from '../format.js';

/** dist/cli/main.js, whichever name (snap, linksnap, a symlink) started us. */
const CLI_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a backup root: <root>/.latest (a symlink to --source, or an empty folder), the store, and print the cron line')
    .argument('<root>', 'the backup root to create (or complete)')
    .option('--source <dir>', 'the folder to back up; .latest becomes a symlink to it')
    .option('--json', 'print a JSON summary on stdout')
    .option('-q, --quiet', 'print only the cron line')
    .option('-v, --verbose', 'also say what already existed')
    .action(
      action(async (rootArg: string, o: { source?: string; json?: boolean; quiet?: boolean; verbose?: boolean }) => {
        const r = await init(rootArg, { source: o.source });
        const cron = cronLine(r.root, CLI_SCRIPT);
        if (o.json) {
          io.out(toJson({ ...r, cronLine: cron }));
          return EXIT.OK;
        }
        if (!o.quiet) {
          const made = (Object.keys(r.created) as (keyof typeof r.created)[]).filter((k) => r.created[k]);
          const kept = (Object.keys(r.created) as (keyof typeof r.created)[]).filter((k) => !r.created[k]);
          io.err(`snap: ${r.root} is ready: .latest -> ${r.source}${made.length ? ` (created: ${made.join(', ')})` : ' (nothing to create)'}\n`);
          if (o.verbose && kept.length) io.err(`snap: already there: ${kept.join(', ')}\n`);
          io.err(`snap: take the first snapshot now: snap take ${r.root}\n`);
          io.err(`snap: then add this line to your crontab (crontab -e) for a nightly snapshot at 03:00;\n`);
          io.err(`snap: cron mails any output; exit codes: 0 ok, 3 completed with warnings, 4 locked, other = failed\n`);
        }
        io.out(cron + '\n');
        return EXIT.OK;
      }),
    );
}

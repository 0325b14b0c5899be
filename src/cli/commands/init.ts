import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { DEFAULT_UNIT_DIR, systemdUnits, writeSystemdUnits } from '../../ops/setup/systemd.js';
import { SnapError } from '../../errors.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { toJson } from '../format.js';
import { lazy } from '../lazy.js';

const init = lazy(() => import('../../ops/setup/init.js'), 'init');
const cronLine = lazy(() => import('../../ops/setup/init.js'), 'cronLine');

/** dist/cli/main.js, whichever name (snap, linksnap, a symlink) started us. */
const CLI_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');

interface InitCliOptions {
  source?: string;
  systemd?: boolean;
  write?: boolean;
  force?: boolean;
  unitDir: string;
  onCalendar: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

function printSystemd(root: string, units: ReturnType<typeof systemdUnits>, written: string[] | undefined, quiet?: boolean): number {
  if (written) {
    if (!quiet) io.err(`snap: ${root} is ready; installed ${written.join(' and ')}\nsnap: enable the timer now with:\n`);
    io.out(units.enable + '\n');
    return EXIT.OK;
  }
  if (!quiet) io.err(`snap: ${root} is ready; install these two units into ${DEFAULT_UNIT_DIR} (or run again with --write), then: ${units.enable}\n`);
  for (const u of [units.service, units.timer]) io.out(`# ${u.name}\n${u.text}\n`);
  return EXIT.OK;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a backup root: <root>/.latest (a symlink to --source, or an empty folder), the store, and print the cron line')
    .argument('<root>', 'the backup root to create (or complete)')
    .option('--source <dir>', 'the folder to back up; .latest becomes a symlink to it')
    .option('--systemd', 'print a systemd .service and .timer pair instead of the cron line')
    .option('--write', `with --systemd: install the two units into --unit-dir and print the systemctl line to enable them`)
    .option('--force', 'with --write: replace unit files that already exist')
    .option('--unit-dir <dir>', 'with --write: where to install the units', DEFAULT_UNIT_DIR)
    .option('--on-calendar <spec>', 'with --systemd: when the timer fires (systemd.time(7))', 'daily')
    .option('--json', 'print a JSON summary on stdout')
    .option('-q, --quiet', 'print only the cron line (or the units, or the systemctl line)')
    .option('-v, --verbose', 'also say what already existed')
    .action(
      action(async (rootArg: string, o: InitCliOptions) => {
        if ((o.write || o.force) && !o.systemd) throw new SnapError('USAGE', '--write and --force go with --systemd', { hint: 'snap init <root> --systemd --write' });
        if (o.force && !o.write) throw new SnapError('USAGE', '--force goes with --write');
        const units = o.systemd ? systemdUnits(path.resolve(rootArg), CLI_SCRIPT, { onCalendar: o.onCalendar }) : undefined;
        const r = await init(rootArg, { source: o.source });
        const cron = await cronLine(r.root, CLI_SCRIPT);
        const written = units && o.write ? writeSystemdUnits(units, o.unitDir, o.force ?? false) : undefined;
        if (o.json) {
          io.out(toJson({ ...r, cronLine: cron, ...(units ? { systemd: { ...units, written: written ?? [] } } : {}) }));
          return EXIT.OK;
        }
        if (units) return printSystemd(r.root, units, written, o.quiet);
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

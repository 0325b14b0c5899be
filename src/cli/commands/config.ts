import type { Command } from 'commander';
import { readConfig, writeConfig } from '../../ops/setup/config.js';
import { describePolicy } from '../../ops/retention/policy.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { toJson } from '../format.js';
import { nonNegativeNumber } from '../options.js';
import { SnapError } from '../../errors.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description("show or change the root's saved settings (the retention policy `snap take` applies)")
    .argument('<root>', 'the backup root')
    .argument('[key=value...]', 'settings to save: keep.last, keep.hourly, keep.daily, keep.weekly, keep.monthly, keep.yearly')
    .option('--unset <key>', 'remove a saved setting (repeatable)', collect)
    .option('--json', 'print the settings as JSON')
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .addHelpText('after', '\nExample: snap config /backups/music keep.daily=7 keep.weekly=4 keep.monthly=12\nSee docs/retention.md.')
    .action(
      action(async (rootArg: string, pairs: string[], o: { unset?: string[]; json?: boolean; wait: number }) => {
        const set = pairs.map((p) => {
          const i = p.indexOf('=');
          if (i <= 0) throw new SnapError('USAGE', `expected key=value, got '${p}'`, { hint: 'e.g. snap config <root> keep.daily=7' });
          return { key: p.slice(0, i), value: p.slice(i + 1) };
        });
        const unset = o.unset ?? [];
        const r = set.length || unset.length ? await writeConfig(rootArg, { set, unset, waitMs: o.wait * 1000 }) : readConfig(rootArg);
        if (o.json) {
          io.out(toJson(r));
          return EXIT.OK;
        }
        for (const [k, v] of Object.entries(r.settings)) io.out(`${k}=${v}\n`);
        const src = r.policySource === 'saved' ? 'saved' : 'default: no keep.* setting saved';
        io.err(`snap: retention policy: ${describePolicy(r.policy)} (${src})\n`);
        return EXIT.OK;
      }),
    );
}

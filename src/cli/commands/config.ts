import type { Command } from 'commander';
import type { ListedSetting } from '../../ops/setup/config.js';
import { SETTINGS, listSettings } from '../../ops/shared/settings.js';
import { describePolicy } from '../../ops/retention/policy.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { toJson } from '../format.js';
import { nonNegativeNumber } from '../options.js';
import { SnapError } from '../../errors.js';
import { lazy } from '../lazy.js';

const readConfig = lazy(() => import('../../ops/setup/config.js'), 'readConfig');
const writeConfig = lazy(() => import('../../ops/setup/config.js'), 'writeConfig');

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `  take.max-shrink=50   default  refuse a take ...`: one known setting, for the listing. */
function listingLines(known: readonly ListedSetting[]): string {
  const shown = known.map((s) => (s.value === undefined ? s.key : `${s.key}=${s.value}`));
  const width = Math.max(...shown.map((t) => t.length));
  return known.map((s, i) => `  ${shown[i]!.padEnd(width)}  ${s.source.padEnd(7)}  ${s.description}\n`).join('');
}

// Listed against an empty catalog: every key with its default.
const keysHelp = listSettings(new Map())
  .map((s) => `  ${s.key.padEnd(16)} ${s.description}${s.default === undefined ? '' : ` (default ${s.default})`}`)
  .join('\n');

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description("show or change the root's saved settings: the retention policy `snap take` applies, the take's own settings")
    .argument('<root>', 'the backup root')
    .argument('[key=value...]', `settings to save: ${Object.keys(SETTINGS).join(', ')}`)
    .option('--unset <key>', 'remove a saved setting (repeatable); an unset key takes its default', collect)
    .option('--json', 'print the settings as JSON')
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .addHelpText(
      'after',
      `\nSettings:\n${keysHelp}\n\nWith no keep.* key saved, take and prune keep the newest 16 snapshots.\n` +
        'Without key=value or --unset: the saved settings on stdout (key=value), every known setting on stderr.\n' +
        'Example: snap config /backups/music keep.daily=7 keep.weekly=4 keep.monthly=12\nSee docs/retention.md.',
    )
    .action(
      action(async (rootArg: string, pairs: string[], o: { unset?: string[]; json?: boolean; wait: number }) => {
        const set = pairs.map((p) => {
          const i = p.indexOf('=');
          if (i <= 0) throw new SnapError('USAGE', `expected key=value, got '${p}'`, { hint: 'e.g. snap config <root> keep.daily=7' });
          return { key: p.slice(0, i), value: p.slice(i + 1) };
        });
        const unset = o.unset ?? [];
        const r = set.length || unset.length ? await writeConfig(rootArg, { set, unset, waitMs: o.wait * 1000 }) : await readConfig(rootArg);
        if (o.json) {
          io.out(toJson(r));
          return EXIT.OK;
        }
        for (const [k, v] of Object.entries(r.settings)) io.out(`${k}=${v}\n`);
        const src = r.policySource === 'saved' ? 'saved' : 'default: no keep.* setting saved';
        io.err(`snap: retention policy: ${describePolicy(r.policy)} (${src})\n`);
        if (r.known) io.err(`snap: settings (set with key=value, back to the default with --unset key):\n${listingLines(r.known)}`);
        return EXIT.OK;
      }),
    );
}

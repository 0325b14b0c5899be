import type { Command } from 'commander';
import { RULES, describePolicy, showReason, type RetentionPolicy } from '../../ops/retention/policy.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { nonNegativeNumber, positiveInt } from '../options.js';
import { lazy } from '../lazy.js';

const prune = lazy(() => import('../../ops/retention/prune.js'), 'prune');

type PruneFlags = { [K in (typeof RULES)[number] as `keep${Capitalize<K>}`]?: number } & { dryRun?: boolean; json?: boolean; wait: number };

const RULE_HELP: Record<(typeof RULES)[number], string> = {
  last: 'keep the newest n snapshots',
  hourly: 'keep the newest snapshot of each of the last n hours that have one',
  daily: 'keep the newest snapshot of each of the last n days that have one',
  weekly: 'keep the newest snapshot of each of the last n ISO weeks that have one',
  monthly: 'keep the newest snapshot of each of the last n months that have one',
  yearly: 'keep the newest snapshot of each of the last n years that have one',
};

export function registerPrune(program: Command): void {
  const cmd = program
    .command('prune')
    .description('remove the snapshots a retention policy does not keep (default: the saved policy, else --keep-last 16)')
    .argument('<root>', 'the backup root');
  for (const r of RULES) cmd.option(`--keep-${r} <n>`, RULE_HELP[r], positiveInt(`--keep-${r}`));
  cmd
    .option('--dry-run', 'change nothing; list what would go and why each survivor stays')
    .option('--json', 'print a JSON report on stdout')
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .addHelpText(
      'after',
      '\nA snapshot kept by any rule stays; pinned snapshots (snap pin) and the newest snapshot always stay.\n' +
        'Periods are local time; weeks are ISO 8601. Save a policy for `snap take` with `snap config <root> keep.daily=7 ...`.\n' +
        'See docs/retention.md.',
    )
    .action(
      action(async (rootArg: string, o: PruneFlags) => {
        const policy: RetentionPolicy = {};
        for (const r of RULES) {
          const v = o[`keep${r[0]!.toUpperCase()}${r.slice(1)}` as keyof PruneFlags] as number | undefined;
          if (v !== undefined) policy[r] = v;
        }
        const res = await prune(rootArg, { policy, dryRun: o.dryRun, waitMs: o.wait * 1000 });
        if (o.json) {
          io.out(toJson(res));
          return EXIT.OK;
        }
        const verb = res.dryRun ? 'would remove' : 'removed';
        const from = res.policySource === 'options' ? '' : ` (${res.policySource} policy)`;
        if (res.dryRun) {
          // Every snapshot in creation order: what goes, and why each survivor stays.
          const keptBy = new Map(res.kept.map((k) => [k.name, k.reasons]));
          const all = [...res.kept.map((k) => k.name), ...res.removed].sort();
          for (const name of all) {
            const why = keptBy.get(name);
            io.out(why ? `keep    ${name}  ${why.map(showReason).join(', ')}\n` : `remove  ${name}\n`);
          }
        } else {
          for (const name of res.removed) io.out(`removed ${name}\n`);
        }
        io.err(
          `snap: policy ${describePolicy(res.policy)}${from}: ${verb} ${plural(res.removed.length, 'snapshot')}, ` +
            `kept ${res.kept.length}; ${res.dryRun ? 'would free' : 'freed'} ${plural(res.freedObjects, 'object')} (${formatBytes(res.freedBytes)}); ` +
            `${formatSeconds(res.seconds)}\n`,
        );
        return EXIT.OK;
      }),
    );
}

import type { Command } from 'commander';
import type { LogEvent } from '../../ops/browse/log.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, toJson } from '../format.js';
import { lazy } from '../lazy.js';

const pathLog = lazy(() => import('../../ops/browse/log.js'), 'pathLog');

function line(e: LogEvent): string {
  const size =
    e.event === 'disappeared'
      ? ''
      : e.oldSize !== undefined
        ? `${formatBytes(e.oldSize)} -> ${formatBytes(e.size ?? 0)}`
        : formatBytes(e.size ?? 0);
  const files = e.files !== undefined && e.event !== 'disappeared' ? ` in ${e.files} files` : '';
  const changes = e.changes?.length ? `  (${e.changes.join(', ')})` : '';
  return `${e.snapshot}  ${e.event.padEnd(11)}  ${e.kind.padEnd(7)}  ${size}${files}${changes}`.trimEnd() + '\n';
}

export function registerLog(program: Command): void {
  program
    .command('log')
    .description('the history of one path across the snapshots: when it appeared, changed and disappeared')
    .argument('<root>', 'the backup root')
    .argument('<path>', 'a path inside the snapshots, e.g. docs/report.txt')
    .option('--json', 'print the history as JSON')
    .option('-q, --quiet', 'no summary on stderr')
    .option('-v, --verbose', 'also list every snapshot holding the path')
    .action(
      action(async (rootArg: string, rel: string, o: { json?: boolean; quiet?: boolean; verbose?: boolean }) => {
        const r = await pathLog(rootArg, rel);
        if (o.json) {
          io.out(toJson(r));
          return EXIT.OK;
        }
        for (const e of r.events) io.out(line(e));
        if (o.verbose) for (const name of r.presentIn) io.out(`  in ${name}\n`);
        if (!o.quiet) {
          io.err(
            r.present === 0
              ? `snap: ${r.path} is in none of the ${r.snapshots} snapshots (search by pattern: snap find <root> '*name*')\n`
              : `snap: ${r.path}: in ${r.present} of ${r.snapshots} snapshots, ${r.events.filter((e) => e.event === 'changed').length} changes\n`,
          );
        }
        return EXIT.OK;
      }),
    );
}

import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { plural, toJson } from '../format.js';
import { lazy } from '../lazy.js';

const findPaths = lazy(() => import('../../ops/browse/find.js'), 'findPaths');
const listSnapshots = lazy(() => import('../../ops/browse/list.js'), 'listSnapshots');

/** Consecutive runs of snapshots shown as `first..last`, so long histories stay one line. */
export function runsOf(names: readonly string[], order: readonly string[]): string {
  const index = new Map(order.map((n, i) => [n, i]));
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i <= names.length; i++) {
    const contiguous = i < names.length && index.get(names[i]!)! === index.get(names[i - 1]!)! + 1;
    if (contiguous) continue;
    parts.push(i - 1 === start ? names[start]! : `${names[start]}..${names[i - 1]}`);
    start = i;
  }
  return parts.join(', ');
}

export function registerFind(program: Command): void {
  program
    .command('find')
    .description('which snapshots hold paths matching a glob (e.g. "*.jpg", "docs/**/report*")')
    .argument('<root>', 'the backup root')
    .argument('<glob>', 'picomatch glob on the path inside the snapshot; without "/" it matches the name at any depth')
    .option('--json', 'print the matches as JSON')
    .option('-q, --quiet', 'no summary on stderr')
    .option('-v, --verbose', 'list every snapshot name instead of ranges')
    .action(
      action(async (rootArg: string, glob: string, o: { json?: boolean; quiet?: boolean; verbose?: boolean }) => {
        const r = await findPaths(rootArg, glob);
        if (o.json) {
          io.out(toJson(r));
          return EXIT.OK;
        }
        const order = (await listSnapshots(rootArg)).map((s) => s.name);
        for (const m of r.matches) {
          const where = m.snapshots.length === r.searched ? `all ${r.searched} snapshots` : `${m.snapshots.length} of ${r.searched}: ${o.verbose ? m.snapshots.join(', ') : runsOf(m.snapshots, order)}`;
          io.out(`${m.path}${m.kind === 'dir' ? '/' : ''}  (${where})\n`);
        }
        if (!o.quiet) {
          io.err(
            r.matches.length === 0
              ? `snap: nothing matches ${JSON.stringify(glob)} in ${plural(r.searched, 'snapshot')} (a glob without "/" matches names at any depth; quote it so the shell leaves it alone)\n`
              : `snap: ${plural(r.matches.length, 'path')} in ${plural(r.snapshots.length, 'snapshot')} of ${r.searched}\n`,
          );
        }
        return EXIT.OK;
      }),
    );
}

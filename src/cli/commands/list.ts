import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, toJson } from '../format.js';
import { lazy } from '../lazy.js';

const listSnapshots = lazy(() => import('../../ops/browse/list.js'), 'listSnapshots');

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list the snapshots in the catalog, oldest first')
    .argument('<root>', 'the backup root')
    .option('--json', 'print a JSON array')
    .action(
      action(async (rootArg: string, o: { json?: boolean }) => {
        const snaps = await listSnapshots(rootArg);
        if (o.json) {
          io.out(toJson(snaps));
          return EXIT.OK;
        }
        if (snaps.length === 0) {
          io.err('snap: no snapshots yet\n');
          return EXIT.OK;
        }
        const rows = snaps.map((s) => [s.name + (s.pinned ? ' (pinned)' : ''), String(s.files), formatBytes(s.bytes), formatBytes(s.newBytes)]);
        const head = ['SNAPSHOT', 'FILES', 'SIZE', 'ADDED'];
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
        const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n';
        io.out(line(head));
        for (const r of rows) io.out(line(r));
        return EXIT.OK;
      }),
    );
}

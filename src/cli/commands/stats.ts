import type { Command } from 'commander';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, toJson } from '../format.js';
import { lazy } from '../lazy.js';

const stats = lazy(() => import('../../ops/browse/stats.js'), 'stats');

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('per snapshot: files, size, bytes it added, bytes only it holds; for the store: objects, stored bytes, dedup ratio')
    .argument('<root>', 'the backup root')
    .option('--disk', 'also measure the blocks the objects occupy on disk (reads every object\'s inode)')
    .option('--json', 'print the statistics as JSON')
    .option('-q, --quiet', 'only the table, no store summary')
    .option('-v, --verbose', 'also show object counts per snapshot')
    .action(
      action(async (rootArg: string, o: { disk?: boolean; json?: boolean; quiet?: boolean; verbose?: boolean }) => {
        const r = await stats(rootArg, { disk: o.disk });
        if (o.json) {
          io.out(toJson(r));
          return EXIT.OK;
        }
        const head = ['SNAPSHOT', 'FILES', 'SIZE', 'ADDED', 'ONLY HERE', ...(o.verbose ? ['NEW OBJ', 'OWN OBJ'] : [])];
        const rows = r.snapshots.map((s) => [
          s.name + (s.pinned ? ' (pinned)' : ''),
          String(s.files),
          formatBytes(s.bytes),
          formatBytes(s.addedBytes),
          formatBytes(s.exclusiveBytes),
          ...(o.verbose ? [String(s.addedObjects), String(s.exclusiveObjects)] : []),
        ]);
        const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
        const fmt = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n';
        io.out(fmt(head));
        for (const row of rows) io.out(fmt(row));
        if (!o.quiet) {
          const st = r.store;
          const disk = st.diskBytes !== undefined ? ` (${formatBytes(st.diskBytes)} on disk)` : '';
          io.out(
            `\nstore: ${st.objects} objects (${st.contents} distinct contents), ${formatBytes(st.storedBytes)} stored${disk}; ` +
              `snapshots hold ${formatBytes(st.logicalBytes)}: dedup ${st.dedupRatio.toFixed(2)}x; ` +
              `${formatBytes(st.sharedBytes)} shared by 2+ snapshots; catalog ${formatBytes(st.catalogBytes)}\n` +
              `ONLY HERE = what pruning that snapshot alone would free\n`,
          );
        }
        return EXIT.OK;
      }),
    );
}

import type { Command } from 'commander';
import type { DiffItem } from '../../ops/browse/diff.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { addExcludeOptions, excludesFor, type ExcludeCliOptions } from '../excludes-options.js';
import { lazy } from '../lazy.js';

const diff = lazy(() => import('../../ops/browse/diff.js'), 'diff');

const LETTER: Record<DiffItem['status'], string> = { added: 'A', removed: 'D', changed: 'M', renamed: 'R' };

function line(it: DiffItem): string {
  const slash = it.kind === 'dir' ? '/' : '';
  const p = it.from !== undefined ? `${it.from}${slash} -> ${it.path}${slash}` : it.path + slash;
  const sizes = it.oldSize !== undefined && it.size !== undefined ? `  ${formatBytes(it.oldSize)} -> ${formatBytes(it.size)}` : '';
  const changes = it.changes?.length ? `  (${it.changes.join(', ')})` : '';
  return `${LETTER[it.status]}  ${p}${changes}${sizes}\n`;
}

export function registerDiff(program: Command): void {
  addExcludeOptions(
    program
      .command('diff')
      .description('what changed between snapshot <a> and <b> (default: .latest as it is now)')
      .argument('<root>', 'the backup root')
      .argument('<a>', 'the older snapshot (name or folder path)')
      .argument('[b]', 'the newer snapshot, or .latest', '.latest')
      .option('--json', 'print the differences as JSON')
      .option('-q, --quiet', 'no summary on stderr')
      .option('-v, --verbose', "also list folders whose mtime alone changed, and how much .latest had to be read"),
  ).action(
    action(async (rootArg: string, a: string, b: string, o: ExcludeCliOptions & { json?: boolean; quiet?: boolean; verbose?: boolean }) => {
      const r = await diff(rootArg, a, b, { dirMtime: o.verbose, exclude: excludesFor(rootArg, o) });
      for (const w of r.warnings) io.err(`snap: warning: ${w.path}: ${w.message}\n`);
      if (o.json) {
        io.out(toJson(r));
        return r.warnings.length > 0 ? EXIT.WARNINGS : EXIT.OK;
      }
      for (const it of r.items) io.out(line(it));
      if (!o.quiet) {
        const s = r.summary;
        const total = s.added + s.removed + s.changed + s.renamed;
        const read = o.verbose && r.b === '.latest' ? `; read ${plural(r.hashedFiles, 'file')} (${formatBytes(r.hashedBytes)}) the quick check could not vouch for; ${formatSeconds(r.seconds)}` : '';
        io.err(
          total === 0
            ? `snap: no differences between ${r.a} and ${r.b}${read}\n`
            : `snap: ${r.a} -> ${r.b}: ${s.added} added, ${s.removed} removed, ${s.changed} changed, ${s.renamed} renamed${read}\n`,
        );
      }
      return r.warnings.length > 0 ? EXIT.WARNINGS : EXIT.OK;
    }),
  );
}

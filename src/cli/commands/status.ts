import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { StatusRun } from '../../ops/browse/status.js';
import { durationKind } from '../../ops/shared/settings.js';
import { action, processIo as io } from '../run.js';
import { EXIT, exitCodeOfRecorded } from '../exit-codes.js';
import { formatBytes, plural, toJson } from '../format.js';
import { lazy } from '../lazy.js';

const status = lazy(() => import('../../ops/browse/status.js'), 'status');

function maxAge(v: string): number {
  const ms = durationKind.parse(v);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError(`--max-age must be a duration such as 90m, 36h or 2d, got '${v}'`);
  return ms;
}

function age(seconds: number): string {
  if (seconds < 120) return `${Math.floor(seconds)}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86_400)}d${Math.floor((seconds % 86_400) / 3600)}h`;
}

function takeLine(t: StatusRun): string {
  const when = t.finishedAt;
  if (t.outcome === 'failed') return `failed at ${when} (exit ${exitCodeOfRecorded(t.errorCode ?? '')}, ${t.errorCode}): ${t.error}`;
  const made = t.snapshot ? `, made ${t.snapshot}` : '';
  const warned = t.outcome === 'warnings' ? ` with ${plural(t.warnings, 'warning')}${t.error ? ` (${t.error})` : ''}` : '';
  return `${t.outcome} at ${when}${made}${warned}`;
}

function verifyLine(v: StatusRun): string {
  const found = (v.damage ?? 0) > 0 ? `found ${plural(v.damage!, 'damage finding')}` : 'no damage';
  return `${v.tier} at ${v.finishedAt}, ${plural(v.snapshots ?? 0, 'snapshot')}: ${found}`;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('health for monitoring: the newest snapshot and its age, the last take and verify, the store size; exit 1 when unhealthy')
    .argument('<root>', 'the backup root')
    .option('--max-age <duration>', 'unhealthy when the newest snapshot is older than this (90m, 36h, 2d)', maxAge)
    .option('--json', 'print the status as JSON')
    .option('-q, --quiet', 'print only the first line (healthy, or unhealthy and why)')
    .addHelpText(
      'after',
      '\nExit 0 when healthy; 1 when there is no snapshot, the newest is older than --max-age, the last take failed,\n' +
        'or the last verify found damage (one line per reason on stderr). The first stdout line is "OK: …" or\n' +
        '"UNHEALTHY: …", for Nagios-style checks. See docs/operations.md, "Health status".',
    )
    .action(
      action(async (rootArg: string, o: { maxAge?: number; json?: boolean; quiet?: boolean }) => {
        const r = await status(rootArg, { maxAgeMs: o.maxAge });
        const code = r.healthy ? EXIT.OK : EXIT.UNHEALTHY;
        if (o.json) {
          io.out(toJson({ ...r, lastTake: r.lastTake && (r.lastTake.errorCode ? { ...r.lastTake, exitCode: exitCodeOfRecorded(r.lastTake.errorCode) } : r.lastTake) }));
          return code;
        }
        const newest = r.newest ? `newest snapshot ${r.newest.name} is ${age(r.newest.ageSeconds)} old` : 'no snapshot';
        io.out(r.healthy ? `OK: ${newest}\n` : `UNHEALTHY: ${r.problems.map((p) => p.message).join('; ')}\n`);
        if (!o.quiet) {
          io.out(`root:         ${r.root}\n`);
          io.out(`newest:       ${r.newest ? `${r.newest.name} (${age(r.newest.ageSeconds)} ago${r.maxAgeSeconds !== undefined ? `, --max-age ${durationKind.format(r.maxAgeSeconds * 1000)}` : ''})` : 'none'}\n`);
          io.out(`snapshots:    ${r.snapshots}\n`);
          io.out(`last take:    ${r.lastTake ? takeLine(r.lastTake) : 'none recorded'}\n`);
          io.out(`last verify:  ${r.lastVerify ? verifyLine(r.lastVerify) : 'none recorded'}\n`);
          io.out(`store:        ${r.store ? `${plural(r.store.objects, 'object')}, ${formatBytes(r.store.bytes)}` : 'none'}\n`);
        }
        for (const p of r.problems) io.err(`snap: unhealthy: ${p.message}\n`);
        return code;
      }),
    );
}

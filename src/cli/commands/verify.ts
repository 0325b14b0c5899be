import type { Command } from 'commander';
import type { Finding, VerifyReport } from '../../ops/verify/verify.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { nonNegativeNumber, percent } from '../options.js';
import { isReplicaUrl } from '../../replica/url.js';
import { verifyReplicaCommand } from './verify-replica.js';
import { lazy } from '../lazy.js';

const verify = lazy(() => import('../../ops/verify/verify.js'), 'verify');

/** Paths shown per finding and snapshot in the human report (all of them are in --json). */
const SHOWN_PATHS = 10;
/** Paths moved into lost+found listed in the human report (all of them are in --json). */
const SHOWN_SAVED = 100;

function status(f: Finding): string {
  if (f.repaired === true) return ' [repaired]';
  if (f.repaired === false) return ' [NOT repaired]';
  return '';
}

/** The short human report: damage grouped by snapshot, then store-wide findings, then notes. */
export function renderReport(r: VerifyReport): string {
  let out = '';
  const damage = r.findings.filter((f) => f.severity === 'damage');
  const bySnapshot = new Map<string, { f: Finding; paths: string[] }[]>();
  const storeWide: Finding[] = [];
  for (const f of damage) {
    if (f.snapshots.length === 0) {
      storeWide.push(f);
      continue;
    }
    for (const s of f.snapshots) {
      const paths = f.paths.filter((p) => p === s || p.startsWith(s + '/')).map((p) => (p === s ? '.' : p.slice(s.length + 1)));
      const list = bySnapshot.get(s) ?? [];
      list.push({ f, paths });
      bySnapshot.set(s, list);
    }
  }
  for (const [s, list] of [...bySnapshot].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out += `${s}\n`;
    for (const { f, paths } of list) {
      const others = f.snapshots.length > 1 ? ` (shared with ${plural(f.snapshots.length - 1, 'other snapshot')})` : '';
      const shown = paths.slice(0, SHOWN_PATHS);
      const more = paths.length - shown.length + (f.morePaths ?? 0);
      out += `  ${f.kind}${status(f)}: ${shown.join(', ') || '(catalog)'}${more > 0 ? `, … (${more} more)` : ''}\n`;
      out += `      ${f.message}${others}\n`;
      if (f.repairNote) out += `      ${f.repairNote}\n`;
    }
  }
  if (storeWide.length) {
    out += 'store\n';
    for (const f of storeWide) {
      out += `  ${f.kind}${status(f)}: ${f.paths.slice(0, SHOWN_PATHS).join(', ') || f.object || ''}\n      ${f.message}\n`;
      if (f.repairNote) out += `      ${f.repairNote}\n`;
    }
  }
  if (r.saved?.length) {
    out += 'moved to .snap/lost+found (in the dated folders, but not the snapshots\')\n';
    for (const x of r.saved.slice(0, SHOWN_SAVED)) out += `  ${x.path} → ${x.to}\n`;
    if (r.saved.length > SHOWN_SAVED) out += `  … (${r.saved.length - SHOWN_SAVED} more; --json lists all)\n`;
  }
  const notes = r.findings.filter((f) => f.severity === 'info');
  if (notes.length) {
    out += 'notes\n';
    for (const f of notes) out += `  ${f.kind}: ${f.message}\n`;
  }
  const c = r.counts;
  const tier = r.tier === 'quick' ? 'quick (no content read)' : r.tier === 'sample' ? 'sample' : 'full';
  const what =
    `${plural(c.snapshots, 'snapshot')}, ${plural(c.entries, 'path')}, ${plural(c.objects, 'object')}` +
    (c.objectsHashed ? ` (${formatBytes(c.bytesHashed)} hashed)` : '');
  let verdict: string;
  if (!r.damaged) {
    verdict = c.repaired > 0 ? `repaired ${plural(c.repaired, 'problem')}; now clean` : 'no damage';
  } else if (r.repair) {
    verdict = `DAMAGE: ${plural(c.unrepaired, 'problem')} could not be repaired` + (c.repaired ? ` (${c.repaired} repaired)` : '');
  } else {
    verdict = `DAMAGE: ${plural(c.damage, 'problem')} found; run \`snap verify --repair\``;
  }
  out += `snap: verified ${what}, ${tier}, in ${formatSeconds(r.seconds)}: ${verdict}\n`;
  return out;
}

function progressPrinter(): ((p: { doneBytes: number; totalBytes: number; doneItems: number; totalItems: number }) => void) | undefined {
  if (!process.stderr.isTTY) return undefined; // nothing decorative in logs and pipes
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    io.err(`\rsnap: checking objects ${p.doneItems}/${p.totalItems}, ${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)} hashed   `);
  };
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description('check the catalog, every stored object and every dated folder; --repair fixes what can be fixed')
    .argument('<root>', 'the backup root, or an offsite replica s3://bucket/prefix (docs/replicas.md)')
    .argument('[snapshots...]', 'verify only these snapshots (default: all, plus store-wide leftovers)')
    .option('--quick', 'structure and stat data only (sizes, inodes, modes, mtimes); no content is read')
    .option('--sample <percent>', 'read and hash this share of the objects, least recently verified first', percent('--sample'))
    .option('--repair', 'repair: heal objects from intact copies, re-link paths, rebuild damaged folders (takes the lock)')
    .option('--wait <seconds>', 'with --repair: wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .option('--json', 'print the report as JSON (docs/verify.md)')
    .option('--endpoint <url>', 'for s3:// replicas: the S3-compatible endpoint (MinIO, Ceph, R2, ...)')
    .option('--passphrase-file <path>', 'for encrypted s3:// replicas: the passphrase, from this file (else $LINKSNAP_PASSPHRASE, else asked)')
    .option('--key-file <path>', 'for encrypted s3:// replicas: open it with this key file instead of a passphrase')
    .option('-q, --quiet', 'print nothing when nothing is wrong (for cron: mail only on damage)')
    .action(
      action(async (rootArg: string, snapshots: string[], o: { quick?: boolean; sample?: number; repair?: boolean; wait: number; json?: boolean; endpoint?: string; quiet?: boolean; passphraseFile?: string; keyFile?: string }) => {
        if (isReplicaUrl(rootArg)) return verifyReplicaCommand(rootArg, snapshots, o);
        const onProgress = o.json ? undefined : progressPrinter();
        const r = await verify(rootArg, {
          snapshots,
          quick: o.quick,
          samplePercent: o.sample,
          repair: o.repair,
          waitMs: o.wait * 1000,
          onProgress,
        });
        if (onProgress) io.err('\r\x1b[K');
        if (o.json) io.out(toJson(r));
        else if (r.damaged || !o.quiet) io.out(renderReport(r));
        return r.damaged ? EXIT.DAMAGE : EXIT.OK;
      }),
    );
}

/** `snap verify s3://bucket/prefix [--sample <percent>]`: check an offsite replica (docs/replicas.md). */
import type { ReplicaVerifyReport } from '../../ops/replica/verify-replica.js';
import { SnapError } from '../../errors.js';
import { processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { secretProvider, type SecretFlags } from './key.js';
import { lazy } from '../lazy.js';

const verifyReplica = lazy(() => import('../../ops/replica/verify-replica.js'), 'verifyReplica'); // loads the AWS SDK when run

export function renderReplicaReport(r: ReplicaVerifyReport): string {
  let out = '';
  for (const f of r.findings) {
    const where = f.paths.slice(0, 10).join(', ') || f.object || '';
    const more = f.paths.length > 10 || f.morePaths ? `, … (${f.paths.length - 10 + (f.morePaths ?? 0)} more)` : '';
    out += `  ${f.severity === 'damage' ? '' : 'note: '}${f.kind}: ${where}${more}\n      ${f.message}\n`;
  }
  const c = r.counts;
  const verdict = r.damaged ? `DAMAGE: ${plural(c.damage, 'problem')} found` : 'no damage';
  out +=
    `snap: verified replica ${r.url} (generation ${r.generation ?? 'none'}): ${plural(r.snapshots.length, 'snapshot')}, ` +
    `${plural(c.blobs, 'blob')} (${formatBytes(c.blobBytes)}), ${c.blobsHashed} re-hashed, in ${formatSeconds(r.seconds)}: ${verdict}\n`;
  return out;
}

export async function verifyReplicaCommand(
  url: string,
  snapshots: string[],
  o: SecretFlags & { quick?: boolean; sample?: number; repair?: boolean; json?: boolean; endpoint?: string; quiet?: boolean },
): Promise<number> {
  if (snapshots.length > 0 || o.repair || o.quick) {
    throw new SnapError('USAGE', 'a replica is verified as a whole: snapshot names, --quick and --repair apply to local roots only', {
      hint: 'use --sample <percent> to re-hash a share of the replica; to repair, pull it and push again (docs/replicas.md)',
    });
  }
  const r = await verifyReplica(url, { samplePercent: o.sample, endpoint: o.endpoint, secret: secretProvider(o) });
  if (o.json) io.out(toJson(r));
  else if (r.damaged || !o.quiet) io.out(renderReplicaReport(r));
  return r.damaged ? EXIT.DAMAGE : EXIT.OK;
}

import type { Command } from 'commander';
import { DEFAULT_CONCURRENCY } from '../../replica/defaults.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { nonNegativeNumber, positiveInt } from '../options.js';
import { startProgress } from '../progress.js';
import { addSecretOptions, secretProvider, type SecretFlags } from './key.js';
import { lazy } from '../lazy.js';

const pull = lazy(() => import('../../ops/replica/pull.js'), 'pull'); // the AWS SDK loads only when needed

export function registerPull(program: Command): void {
  const cmd = program
    .command('pull')
    .description('rebuild a store and its dated folders from an offsite replica, into an empty root')
    .argument('<replica>', 's3://<bucket>/<prefix>')
    .argument('<root>', 'an empty or new folder to rebuild the backup root in')
    .argument('[snapshots...]', 'only these snapshots (default: all)')
    .option('--endpoint <url>', 'S3-compatible server (MinIO, Ceph, Garage, R2, B2...); default: AWS or $AWS_ENDPOINT_URL')
    .option('--concurrency <n>', 'blobs downloaded at once', positiveInt('--concurrency'), DEFAULT_CONCURRENCY)
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .option('--limit-download <KiB/s>', 'download at most this many KiB per second, all blobs together', positiveInt('--limit-download'))
    .option('--json', 'print a JSON summary on stdout')
    .option('-q, --quiet', 'no summary on stderr')
    .addHelpText('after', '\nAn interrupted pull can be run again: contents already in place are checked and reused.\nSee docs/replicas.md.');
  addSecretOptions(cmd).action(
      action(async (url: string, rootArg: string, snapshots: string[], o: SecretFlags & { endpoint?: string; concurrency: number; wait: number; limitDownload?: number; json?: boolean; quiet?: boolean }) => {
        const progress = startProgress({ label: 'pull', itemName: 'blobs', quiet: o.quiet || o.json });
        let r;
        try {
          r = await pull(url, rootArg, {
            endpoint: o.endpoint,
            concurrency: o.concurrency,
            snapshots,
            waitMs: o.wait * 1000,
            secret: secretProvider(o),
            limitDownloadKiB: o.limitDownload,
            onProgress: (p) => progress.update({ doneBytes: p.doneBytes, totalBytes: p.totalBytes, doneItems: p.doneBlobs, totalItems: p.totalBlobs }),
          });
        } finally {
          progress.stop();
        }
        if (o.json) io.out(toJson(r));
        else {
          if (!o.quiet) {
            io.err(
              `snap: pulled ${plural(r.snapshots.length, 'snapshot')} from ${r.url} (generation ${r.generation}): ` +
                `${plural(r.downloadedBlobs, 'blob')} (${formatBytes(r.downloadedBytes)}) downloaded, ${r.reusedBlobs} reused, ` +
                `${plural(r.objects, 'object')} published; ${formatSeconds(r.seconds)}\n`,
            );
          }
          io.out(r.root + '\n');
        }
        return EXIT.OK;
      }),
    );
}

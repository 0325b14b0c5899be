import type { Command } from 'commander';
import { DEFAULT_CONCURRENCY } from '../../replica/defaults.js';
import { action, processIo as io } from '../run.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatSeconds, plural, toJson } from '../format.js';
import { nonNegativeNumber, positiveInt } from '../options.js';
import { startProgress } from '../progress.js';
import { addSecretOptions, secretProvider, type SecretFlags } from './key.js';
import { lazy } from '../lazy.js';

const push = lazy(() => import('../../ops/replica/push.js'), 'push'); // the AWS SDK loads only when needed

export function registerPush(program: Command): void {
  const cmd = program
    .command('push')
    .description('bring an offsite replica on S3-compatible storage up to date (uploads only what it lacks)')
    .argument('<root>', 'the backup root')
    .argument('<replica>', 's3://<bucket>/<prefix>')
    .option('--endpoint <url>', 'S3-compatible server (MinIO, Ceph, Garage, R2, B2...); default: AWS or $AWS_ENDPOINT_URL')
    .option('--concurrency <n>', 'blobs uploaded at once', positiveInt('--concurrency'), DEFAULT_CONCURRENCY)
    .option('--wait <seconds>', 'wait this long for another run to release the lock', nonNegativeNumber('--wait'), 10)
    .option('--encrypt', 'client-side encryption: makes a new replica encrypted; required for one that is')
    .option('--limit-upload <KiB/s>', 'upload at most this many KiB per second, all blobs together', positiveInt('--limit-upload'))
    .option('--limit-download <KiB/s>', 'download at most this many KiB per second, all downloads together', positiveInt('--limit-download'))
    .option('--json', 'print a JSON summary on stdout')
    .option('-q, --quiet', 'no summary on stderr')
    .addHelpText(
      'after',
      '\nCredentials and region come from the usual AWS environment variables and profiles\n' +
        '(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, AWS_REGION). See docs/replicas.md.',
    );
  addSecretOptions(cmd).action(
      action(async (rootArg: string, url: string, o: SecretFlags & { endpoint?: string; concurrency: number; wait: number; encrypt?: boolean; limitUpload?: number; limitDownload?: number; json?: boolean; quiet?: boolean }) => {
        const progress = startProgress({ label: 'push', itemName: 'blobs', quiet: o.quiet || o.json });
        let r;
        try {
          r = await push(rootArg, url, {
            endpoint: o.endpoint,
            concurrency: o.concurrency,
            waitMs: o.wait * 1000,
            encrypt: o.encrypt,
            secret: secretProvider(o),
            limitUploadKiB: o.limitUpload,
            limitDownloadKiB: o.limitDownload,
            onProgress: (p) => progress.update({ doneBytes: p.doneBytes, totalBytes: p.totalBytes, doneItems: p.doneBlobs, totalItems: p.totalBlobs }),
          });
        } finally {
          progress.stop();
        }
        if (o.json) io.out(toJson(r));
        else if (!o.quiet) {
          io.err(
            `snap: pushed ${plural(r.snapshots.length, 'snapshot')} to ${r.encrypted ? 'encrypted replica ' : ''}${r.url} (generation ${r.generation}): ` +
              `${plural(r.uploadedBlobs, 'new blob')} (${formatBytes(r.uploadedBytes)}) uploaded, ${r.skippedBlobs} already there; ` +
              `${plural(r.deletedBlobs, 'unreferenced blob')} deleted; ${formatSeconds(r.seconds)}\n`,
          );
        }
        return EXIT.OK;
      }),
    );
}

/**
 * linksnap as a library: the same operations the `snap` command line runs, returning data
 * instead of printing. Every expected failure is a SnapError with a stable `code`
 * (src/errors.ts); the command line maps those codes to exit codes.
 *
 *   import { take, verify } from 'linksnap';
 *   const r = await take('/backups/music');          // r.snapshot, r.path, r.warnings, ...
 *   const v = await verify('/backups/music', { quick: true });
 *
 * The replica operations load the AWS SDK only when called.
 */
import type { PushOptions, PushResult } from './ops/replica/push.js';
import type { PullOptions, PullResult } from './ops/replica/pull.js';
import type { ReplicaVerifyOptions, ReplicaVerifyReport } from './ops/replica/verify-replica.js';

export { SnapError, isSnapError, type ErrorCode } from './errors.js';

export { take, type TakeOptions, type TakeResult } from './ops/take/take.js';
export { takeDryRun, type DryRunEntry, type DryRunOptions, type DryRunResult } from './ops/take/dry-run.js';
export { buildExcludes, excludeFnOf, type ExcludeFn, type ExcludeMatcher, type ExcludeOptions } from './ops/take/excludes.js';

export { verify, type Finding, type FindingKind, type VerifyOptions, type VerifyReport } from './ops/verify/verify.js';
export { materialize, type MaterializeOptions, type MaterializeResult } from './ops/verify/materialize.js';

export { prune, type PruneOptions, type PruneResult } from './ops/retention/prune.js';
export { gc, type GcReport } from './ops/retention/gc.js';
export { setPinned, type PinResult } from './ops/retention/pin.js';
export type { RetentionPolicy } from './ops/retention/policy.js';

export { listSnapshots, type ListedSnapshot } from './ops/browse/list.js';
export { diff, type DiffItem, type DiffOptions, type DiffResult } from './ops/browse/diff.js';
export { pathLog, type LogResult } from './ops/browse/log.js';
export { findPaths, type FindResult } from './ops/browse/find.js';
export { stats, type StatsResult } from './ops/browse/stats.js';
export { restore, type RestoreOptions, type RestoreResult } from './ops/browse/restore.js';
export { status, type StatusOptions, type StatusResult } from './ops/browse/status.js';

export { init, type InitOptions, type InitResult } from './ops/setup/init.js';
export { readConfig, writeConfig, type ConfigChange, type ConfigResult } from './ops/setup/config.js';

export type { PushOptions, PushResult, PullOptions, PullResult, ReplicaVerifyOptions, ReplicaVerifyReport };

/** `snap push`: bring an offsite replica on S3-compatible storage up to date. */
export async function push(root: string, url: string, opts?: PushOptions): Promise<PushResult> {
  return (await import('./ops/replica/push.js')).push(root, url, opts);
}

/** `snap pull`: rebuild a store and its dated folders from a replica, into an empty root. */
export async function pull(url: string, root: string, opts?: PullOptions): Promise<PullResult> {
  return (await import('./ops/replica/pull.js')).pull(url, root, opts);
}

/** `snap verify s3://…`: check a replica's catalog and blobs. */
export async function verifyReplica(url: string, opts?: ReplicaVerifyOptions): Promise<ReplicaVerifyReport> {
  return (await import('./ops/replica/verify-replica.js')).verifyReplica(url, opts);
}

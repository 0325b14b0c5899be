/**
 * Replica addresses: `s3://<bucket>[/<prefix>]`. The prefix is a folder-like key prefix inside
 * the bucket (no leading or trailing slash); several replicas can share one bucket.
 */
import { SnapError } from '../errors.js';

export interface ReplicaUrl {
  bucket: string;
  /** '' for the bucket's top, else `a/b` (no leading or trailing slash). */
  prefix: string;
  /** The normalised form, for messages and --json. */
  url: string;
}

// S3's rules for new buckets (3-63 of lowercase letters, digits, dots, hyphens; starts and ends
// with a letter or digit). Older AWS buckets may have upper case or underscores; accept those too.
const BUCKET_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]{1,61}[a-zA-Z0-9]$/;

export function isReplicaUrl(arg: string): boolean {
  return /^s3:\/\//i.test(arg);
}

export function parseReplicaUrl(arg: string): ReplicaUrl {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(arg);
  if (!m) throw new SnapError('USAGE', `not a replica address: ${JSON.stringify(arg)}`, { hint: 'write it as s3://<bucket>/<prefix>' });
  const bucket = m[1]!;
  if (!BUCKET_RE.test(bucket)) {
    throw new SnapError('USAGE', `invalid bucket name ${JSON.stringify(bucket)} in ${arg}`, {
      hint: 'a bucket name is 3-63 letters, digits, dots or hyphens: s3://<bucket>/<prefix>',
    });
  }
  const parts = (m[2] ?? '').split('/').filter((p) => p.length > 0);
  for (const p of parts) {
    if (p === '.' || p === '..') throw new SnapError('USAGE', `the prefix in ${arg} may not contain '.' or '..'`);
  }
  const prefix = parts.join('/');
  return { bucket, prefix, url: `s3://${bucket}${prefix ? '/' + prefix : ''}` };
}

/**
 * Turning what the SDK throws into one line a user can act on: bad credentials, a missing
 * bucket, an unreachable endpoint. The original error is kept as `cause` (LINKSNAP_DEBUG=1).
 */
import { SnapError, errnoCode, isSnapError } from '../errors.js';
import { httpStatusOf } from './retry.js';
import type { ReplicaUrl } from './url.js';

const CREDENTIAL_NAMES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AuthorizationHeaderMalformed',
]);

export function replicaError(e: unknown, r: ReplicaUrl, doing: string, endpoint: string | undefined): unknown {
  if (isSnapError(e)) return e;
  if (typeof e !== 'object' || e === null) return e;
  const name = (e as { name?: string }).name ?? '';
  const msg = ((e as { message?: string }).message ?? String(e)).split('\n')[0]!;
  const status = httpStatusOf(e);
  const where = endpoint ? ` at ${endpoint}` : '';
  if (name === 'NoSuchBucket' || (status === 404 && doing.startsWith('checking bucket'))) {
    return new SnapError('USAGE', `bucket ${r.bucket} does not exist${where}`, {
      hint: `create it first (e.g. \`aws s3 mb s3://${r.bucket}\`), or check the address and --endpoint`,
      cause: e,
    });
  }
  if (CREDENTIAL_NAMES.has(name) || /could not load credentials/i.test(msg)) {
    return new SnapError('USAGE', `the object store rejected the credentials while ${doing}: ${name || msg}`, {
      hint: 'set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, for this bucket',
      cause: e,
    });
  }
  if (name === 'AccessDenied' || status === 403) {
    return new SnapError('USAGE', `access denied while ${doing} in s3://${r.bucket}`, {
      hint: 'the credentials work but may not read/write/list/delete this bucket and prefix',
      cause: e,
    });
  }
  if (/region is missing/i.test(msg)) {
    return new SnapError('USAGE', 'no region configured for the object store', { hint: 'set AWS_REGION (or pass --endpoint for a non-AWS server)', cause: e });
  }
  const code = errnoCode(e);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT' || name === 'TimeoutError') {
    return new SnapError('IO', `cannot reach the object store${where} while ${doing} (${code ?? name})`, {
      hint: endpoint ? 'check --endpoint and that the server is running' : 'check the network (and AWS_ENDPOINT_URL, if set)',
      cause: e,
    });
  }
  if (status !== undefined) {
    return new SnapError('IO', `the object store answered ${status}${name ? ' ' + name : ''} while ${doing}: ${msg}`, { cause: e });
  }
  if (code !== undefined) return new SnapError('IO', `${code} while ${doing}: ${msg}`, { cause: e });
  return e;
}

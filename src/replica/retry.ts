/**
 * Retries with exponential backoff for transient failures of the object store: 5xx answers,
 * throttling, timeouts and dropped connections. Bounded: after `attempts` tries the last error
 * is thrown. The SDK's own retries are switched off (client.ts) so the two do not multiply, and
 * so a streamed upload can be retried from a freshly opened file.
 */
import { errnoCode } from '../errors.js';

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
}

function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 ? v : dflt;
}

/** LINKSNAP_S3_ATTEMPTS / LINKSNAP_S3_BACKOFF_MS override the defaults (tests shorten them). */
export function defaultRetryPolicy(): RetryPolicy {
  return {
    attempts: Math.max(1, envInt('LINKSNAP_S3_ATTEMPTS', 6)),
    baseMs: envInt('LINKSNAP_S3_BACKOFF_MS', 250),
    maxMs: 8000,
  };
}

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

const TRANSIENT_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function httpStatusOf(e: unknown): number | undefined {
  const m = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return typeof m?.httpStatusCode === 'number' ? m.httpStatusCode : undefined;
}

export function isTransient(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const status = httpStatusOf(e);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  const name = (e as { name?: string }).name;
  if (name && TRANSIENT_NAMES.has(name)) return true;
  const code = errnoCode(e);
  if (code && TRANSIENT_ERRNO.has(code)) return true;
  // A response cut short (socket hang up) surfaces as a plain Error from the HTTP layer.
  const msg = (e as { message?: string }).message ?? '';
  return /socket hang up|ECONNRESET|premature close|aborted/i.test(msg) && status === undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy = defaultRetryPolicy()): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= policy.attempts || !isTransient(e)) throw e;
      // Full jitter: many concurrent uploads hitting one throttle should not retry in lockstep.
      const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      await sleep(Math.round(cap / 2 + (Math.random() * cap) / 2));
    }
  }
}

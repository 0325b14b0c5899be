import { describe, expect, it } from 'vitest';
import { parseReplicaUrl, isReplicaUrl } from '../../src/replica/url.js';
import { blobKey, catalogKey, headKey, hexOfBlobKey, newGeneration, parseHead } from '../../src/replica/layout.js';
import { isTransient, withRetry } from '../../src/replica/retry.js';
import { replicaError } from '../../src/replica/errors.js';
import { SnapError } from '../../src/errors.js';

const HEX = 'ab'.repeat(32);

describe('replica addresses and keys', () => {
  it('parses s3://bucket/prefix, normalising slashes', () => {
    expect(parseReplicaUrl('s3://my-bucket/music/')).toEqual({ bucket: 'my-bucket', prefix: 'music', url: 's3://my-bucket/music' });
    expect(parseReplicaUrl('s3://my.bucket//a//b')).toMatchObject({ prefix: 'a/b' });
    expect(parseReplicaUrl('s3://bkt')).toMatchObject({ bucket: 'bkt', prefix: '', url: 's3://bkt' });
    expect(isReplicaUrl('S3://x/y')).toBe(true);
    expect(isReplicaUrl('/backups/music')).toBe(false);
  });

  it('refuses what is not a replica address', () => {
    for (const bad of ['/local/path', 'http://bucket/x', 's3://', 's3://ab/x', 's3://-bad-/x', 's3://bkt/a/../b', 's3://bad bucket/x']) {
      expect(() => parseReplicaUrl(bad), bad).toThrow(SnapError);
    }
  });

  it('lays out HEAD, catalogs and blobs under the prefix (or the bucket top)', () => {
    const r = parseReplicaUrl('s3://bkt/p/q');
    expect(headKey(r)).toBe('p/q/HEAD');
    expect(blobKey(r, HEX)).toBe(`p/q/blobs/ab/${HEX}`);
    expect(catalogKey(r, 'g1')).toBe('p/q/catalogs/g1.db');
    expect(hexOfBlobKey(r, blobKey(r, HEX))).toBe(HEX);
    expect(hexOfBlobKey(r, `p/q/blobs/cd/${HEX}`)).toBeUndefined(); // wrong fan-out folder
    expect(hexOfBlobKey(r, 'p/q/blobs/ab/x')).toBeUndefined();
    const top = parseReplicaUrl('s3://bkt');
    expect(headKey(top)).toBe('HEAD');
    expect(blobKey(top, HEX)).toBe(`blobs/ab/${HEX}`);
  });

  it('generation names sort by time and are unique', () => {
    const a = newGeneration(new Date('2026-01-01T00:00:00Z'));
    const b = newGeneration(new Date('2026-01-01T00:00:01Z'));
    expect(a < b).toBe(true);
    expect(a).toMatch(/^20260101T000000Z-[0-9a-f]{8}$/);
    expect(newGeneration(new Date(0))).not.toBe(newGeneration(new Date(0)));
  });

  it('reads only well-formed HEADs of a known version', () => {
    const good = { format: 'linksnap-replica', version: 1, generation: 'g', key: 'p/catalogs/g.db', blake3: HEX, size: 1, pushedAt: '', snapshots: [], blobs: 0, blobBytes: 0 };
    expect(parseHead(JSON.stringify(good), 'HEAD').generation).toBe('g');
    expect(() => parseHead('{', 'HEAD')).toThrow(/not JSON/);
    expect(() => parseHead(JSON.stringify({ ...good, format: 'x' }), 'HEAD')).toThrow(/not a linksnap replica/);
    expect(() => parseHead(JSON.stringify({ ...good, version: 2 }), 'HEAD')).toThrow(/newer/);
    expect(() => parseHead(JSON.stringify({ ...good, blake3: 'zz' }), 'HEAD')).toThrow(SnapError);
  });
});

describe('retries and errors', () => {
  const httpErr = (status: number, name = 'X') => Object.assign(new Error('m'), { name, $metadata: { httpStatusCode: status } });

  it('classifies transient failures', () => {
    expect(isTransient(httpErr(503, 'SlowDown'))).toBe(true);
    expect(isTransient(httpErr(500))).toBe(true);
    expect(isTransient(httpErr(429))).toBe(true);
    expect(isTransient(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(httpErr(403, 'AccessDenied'))).toBe(false);
    expect(isTransient(httpErr(404, 'NoSuchBucket'))).toBe(false);
    expect(isTransient(new SnapError('IO', 'x'))).toBe(false);
  });

  it('retries transient failures a bounded number of times, and others not at all', async () => {
    let n = 0;
    const policy = { attempts: 4, baseMs: 1, maxMs: 2 };
    await expect(withRetry(async () => { n++; throw httpErr(503); }, policy)).rejects.toThrow();
    expect(n).toBe(4);
    n = 0;
    await expect(withRetry(async () => { n++; throw httpErr(403); }, policy)).rejects.toThrow();
    expect(n).toBe(1);
    n = 0;
    expect(await withRetry(async () => (++n < 3 ? Promise.reject(httpErr(500)) : 'ok'), policy)).toBe('ok');
    expect(n).toBe(3);
  });

  it('turns SDK errors into one-line SnapErrors', () => {
    const r = parseReplicaUrl('s3://bkt/p');
    const e1 = replicaError(httpErr(404, 'NoSuchBucket'), r, 'listing', 'http://h:1') as SnapError;
    expect(e1.message).toBe('bucket bkt does not exist at http://h:1');
    const e2 = replicaError(httpErr(403, 'SignatureDoesNotMatch'), r, 'listing', undefined) as SnapError;
    expect(e2.code).toBe('USAGE');
    expect(e2.message).toMatch(/rejected the credentials/);
    const e3 = replicaError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), r, 'listing', 'http://h:1') as SnapError;
    expect(e3.code).toBe('IO');
    const e4 = replicaError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), r, 'x', undefined) as SnapError;
    expect(e4.message).toMatch(/credentials/);
    for (const e of [e1, e2, e3, e4]) expect(e.message).not.toContain('\n');
  });
});

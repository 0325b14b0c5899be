/**
 * The one module that talks to the object store (AWS SDK v3). Everything goes through
 * ReplicaClient, which adds bounded retries (retry.ts), one-line errors (errors.ts) and the
 * wire checksums:
 *
 * - single PUTs carry Content-MD5 and x-amz-checksum-sha256, both computed here from the bytes
 *   being sent; AWS S3, MinIO, Ceph RGW, Garage, B2 and R2 reject a body that does not match;
 * - multipart uploads (blobs over SINGLE_PUT_LIMIT) carry a SHA-256 per part (lib-storage);
 * - every blob is hashed with BLAKE3 while it is read for upload or download, and compared with
 *   its name: push never uploads a damaged local object, pull never publishes a damaged blob.
 *
 * Configuration comes from the usual AWS sources (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
 * AWS_PROFILE, ~/.aws/config, AWS_REGION, AWS_ENDPOINT_URL[_S3]) plus --endpoint. With an
 * endpoint (flag or env) requests are path-style (http://host/bucket/key), which every
 * S3-compatible server supports.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { createHash as nodeHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  S3Client,
  GetObjectCommand,
  PutObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectsCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash as blake3, hashBytes } from '../store/hasher.js';
import { SnapError } from '../errors.js';
import { replicaError } from './errors.js';
import { defaultRetryPolicy, httpStatusOf, withRetry, type RetryPolicy } from './retry.js';
import type { ReplicaUrl } from './url.js';
import type { Opening, Sealing } from './codec.js';
import { throttled, throttledBody, type TokenBucket } from './throttle.js';

/** Blobs up to this size are sent with one PUT from memory; larger ones as multipart. */
export const SINGLE_PUT_LIMIT = 16 << 20;
const MIN_PART = 8 << 20;
const MAX_PARTS = 9000; // S3 allows 10,000; leave room

export interface ClientOptions {
  endpoint?: string;
  retry?: RetryPolicy;
  /** Shared by every upload / download of this client (--limit-upload, --limit-download). */
  uploadLimit?: TokenBucket;
  downloadLimit?: TokenBucket;
}

export interface RequestInfo {
  method: string;
  path: string;
}

/**
 * Test hook: every HTTP request the clients send (each attempt) is reported here, so tests can
 * count requests against any server (s3rver, MinIO, AWS).
 */
export const requestObservers = new Set<(r: RequestInfo) => void>();

/** The content did not hash to its name. `source` says which side was damaged. */
export class HashMismatch extends SnapError {
  constructor(
    readonly hex: string,
    readonly actual: string,
    readonly source: 'local' | 'remote',
    where: string,
  ) {
    super('IO', `${where} does not match its BLAKE3 name ${hex.slice(0, 16)}… (got ${actual.slice(0, 16)}…)`, {
      hint: source === 'local' ? 'the local store is damaged: run `snap verify <root>`' : 'the replica is damaged: run `snap verify s3://…` and push again from a good store',
    });
  }
}

function resolveEndpoint(flag: string | undefined): string | undefined {
  const ep = flag ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  if (ep === undefined || ep === '') return undefined;
  let u: URL;
  try {
    u = new URL(ep);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    throw new SnapError('USAGE', `invalid endpoint ${JSON.stringify(ep)}`, { hint: 'write it as http(s)://host[:port]' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SnapError('USAGE', `endpoint ${ep} must be http:// or https://`);
  return ep.replace(/\/+$/, '');
}

/** A pass-through stream that BLAKE3-hashes and counts what flows through it. */
function hashingStream(onBytes?: (n: number) => void): { hashing: Transform; result: () => { blake3: string; size: number } } {
  const h = blake3();
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  return { hashing, result: () => ({ blake3: h.digest().toString('hex'), size }) };
}

export class ReplicaClient {
  readonly endpoint: string | undefined;
  private readonly s3: S3Client;
  /** For multipart parts (Buffers): the SDK's own retries, so one bad part is resent alone. */
  private readonly s3Parts: S3Client;
  private readonly retry: RetryPolicy;
  private readonly uploadLimit: TokenBucket | undefined;
  private readonly downloadLimit: TokenBucket | undefined;

  constructor(
    readonly url: ReplicaUrl,
    opts: ClientOptions = {},
  ) {
    // The SDK warns on stderr about Node < 22 for future releases; a backup tool's cron mail
    // should not carry that on every run. An explicit setting by the user wins.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.endpoint = resolveEndpoint(opts.endpoint);
    this.retry = opts.retry ?? defaultRetryPolicy();
    this.uploadLimit = opts.uploadLimit;
    this.downloadLimit = opts.downloadLimit;
    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (this.endpoint ? 'us-east-1' : undefined);
    const base: S3ClientConfig = {
      ...(region ? { region } : {}),
      ...(this.endpoint ? { endpoint: this.endpoint, forcePathStyle: true } : {}),
      // We send our own checksums; the SDK's default CRC32 trailer needs aws-chunked encoding,
      // which several S3-compatible servers store verbatim instead of decoding.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 300_000 },
    };
    this.s3 = this.observe(new S3Client({ ...base, maxAttempts: 1 }));
    this.s3Parts = this.observe(new S3Client({ ...base, maxAttempts: this.retry.attempts, retryMode: 'standard' }));
  }

  private observe(c: S3Client): S3Client {
    c.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { method?: string; path?: string };
        for (const o of requestObservers) o({ method: req.method ?? '?', path: req.path ?? '' });
        return next(args);
      },
      { step: 'deserialize', name: 'linksnapRequestObserver' },
    );
    return c;
  }

  close(): void {
    this.s3.destroy();
    this.s3Parts.destroy();
  }

  /** Run one request with retries; turn failures into one-line SnapErrors. */
  private async call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, this.retry);
    } catch (e) {
      throw replicaError(e, this.url, doing, this.endpoint);
    }
  }

  /** Fails early with a clear message for a missing bucket, bad credentials or no server. */
  async checkBucket(): Promise<void> {
    // A List rather than HeadBucket: a HEAD answer has no body, so a bad key, a wrong secret
    // and a missing permission would all be a bare 403; List says which (and every replica
    // command needs s3:ListBucket anyway).
    await this.call(`checking bucket ${this.url.bucket}`, () =>
      this.s3.send(new ListObjectsV2Command({ Bucket: this.url.bucket, Prefix: this.url.prefix ? this.url.prefix + '/' : '', MaxKeys: 1 })),
    );
  }

  /** The object's text, or undefined when the key does not exist. */
  async getText(key: string): Promise<string | undefined> {
    const buf = await this.getBuffer(key, true);
    return buf?.toString('utf8');
  }

  async getBuffer(key: string, missingOk = false): Promise<Buffer | undefined> {
    return this.call(`reading ${key}`, async () => {
      try {
        const r = await this.s3.send(new GetObjectCommand({ Bucket: this.url.bucket, Key: key }));
        return Buffer.from(await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
      } catch (e) {
        if (missingOk && isNotFound(e)) return undefined;
        throw e;
      }
    });
  }

  async headObject(key: string): Promise<{ size: number } | undefined> {
    return this.call(`checking ${key}`, async () => {
      try {
        const r = await this.s3.send(new HeadObjectCommand({ Bucket: this.url.bucket, Key: key }));
        return { size: Number(r.ContentLength ?? 0) };
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    });
  }

  /**
   * Every key under `prefix` with its size, page by page (1000 per request, the S3 maximum;
   * LINKSNAP_S3_LIST_PAGE makes pages smaller so tests exercise pagination).
   */
  async *list(prefix: string): AsyncGenerator<{ key: string; size: number }> {
    const pageSize = Number(process.env.LINKSNAP_S3_LIST_PAGE) || undefined;
    let token: string | undefined;
    do {
      const page = await this.call(`listing ${prefix}`, () =>
        this.s3.send(new ListObjectsV2Command({ Bucket: this.url.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: pageSize })),
      );
      for (const o of page.Contents ?? []) if (o.Key !== undefined) yield { key: o.Key, size: Number(o.Size ?? 0) };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** One PUT from memory with Content-MD5 and SHA-256 the server checks against the body. */
  async putBuffer(key: string, data: Buffer, contentType = 'application/octet-stream'): Promise<void> {
    const md5 = nodeHash('md5').update(data).digest('base64');
    const sha = nodeHash('sha256').update(data).digest('base64');
    await this.call(`uploading ${key}`, () =>
      this.s3.send(
        new PutObjectCommand({
          Bucket: this.url.bucket,
          Key: key,
          // Under --limit-upload the body goes at the bucket's pace (a fresh stream per attempt).
          Body: this.uploadLimit ? throttledBody(data, this.uploadLimit) : data,
          ContentLength: data.length,
          ContentType: contentType,
          ContentMD5: md5,
          ChecksumSHA256: sha,
        }),
      ),
    );
  }

  /**
   * Upload a local file as `key`, hashing it with BLAKE3 on the way; when `expectHex` is given
   * and the bytes read do not match it, nothing stays on the server and HashMismatch is thrown.
   * Small files go in one PUT; large ones as multipart (retried whole from a reopened file).
   * With `sealing` (an encrypted replica) the bytes are sealed after they were hashed: the hash
   * and the returned size are those of the plaintext.
   */
  async putFile(
    key: string,
    file: string | Buffer,
    expectHex: string | undefined,
    onBytes?: (n: number) => void,
    sealing?: Sealing,
  ): Promise<{ blake3: string; size: number }> {
    const st = await fsp.stat(file);
    if (st.size <= SINGLE_PUT_LIMIT) {
      const data = await fsp.readFile(file);
      const hex = blake3Hex(data);
      if (expectHex !== undefined && hex !== expectHex) throw new HashMismatch(expectHex, hex, 'local', `local object ${String(file)}`);
      await this.putBuffer(key, sealing ? sealing.buffer(data) : data);
      onBytes?.(data.length);
      return { blake3: hex, size: data.length };
    }
    const partSize = Math.max(MIN_PART, Math.ceil(st.size / MAX_PARTS));
    const result = await this.call(`uploading ${key}`, async () => {
      const { hashing, result } = hashingStream(onBytes);
      let body: Readable = fs.createReadStream(file).pipe(hashing);
      if (sealing) body = body.pipe(sealing.stream());
      if (this.uploadLimit) body = body.pipe(throttled(this.uploadLimit));
      const up = new Upload({
        client: this.s3Parts,
        params: { Bucket: this.url.bucket, Key: key, Body: body, ContentType: 'application/octet-stream', ChecksumAlgorithm: 'SHA256' },
        partSize,
        queueSize: 2,
        leavePartsOnError: false,
      });
      await up.done();
      return result();
    });
    if (expectHex !== undefined && result.blake3 !== expectHex) {
      await this.deleteKeys([key]);
      throw new HashMismatch(expectHex, result.blake3, 'local', `local object ${String(file)}`);
    }
    return result;
  }

  /**
   * Download `key` into `dest` (created or truncated), hashing with BLAKE3 as it streams.
   * A transient failure mid-body restarts the download. The caller compares the hash.
   * With `opening` (an encrypted replica) the object is opened as it streams, and the hash and
   * size are those of the plaintext; an object that fails authentication throws AuthFailure.
   */
  async getFile(key: string, dest: string, onBytes?: (n: number) => void, opening?: Opening): Promise<{ blake3: string; size: number }> {
    return this.call(`downloading ${key}`, async () => {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.url.bucket, Key: key }));
      const { hashing, result } = hashingStream(onBytes);
      const stages: NodeJS.ReadWriteStream[] = [];
      if (this.downloadLimit) stages.push(throttled(this.downloadLimit));
      if (opening) stages.push(opening());
      await pipeline([r.Body as Readable, ...stages, hashing, fs.createWriteStream(dest, { mode: 0o600 })]);
      return result();
    });
  }

  /** Delete keys, 1000 per request (the S3 limit); a key that is already gone is no error. */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const r = await this.call(`deleting ${batch.length} keys`, () =>
        this.s3.send(new DeleteObjectsCommand({ Bucket: this.url.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new SnapError('IO', `the object store refused to delete ${failed.length} keys (${failed[0]!.Code}: ${failed[0]!.Message ?? ''})`);
      }
    }
  }
}

export function blake3Hex(data: Uint8Array): string {
  return hashBytes(data).toString('hex');
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || (httpStatusOf(e) === 404 && name !== 'NoSuchBucket');
}

/**
 * An S3-compatible server for the replica tests: s3rver in this process on 127.0.0.1 (a random
 * port), behind a tiny HTTP front that logs every request (for counting) and can answer the
 * next N requests with an error (for the retry tests).
 *
 * To run the same suite against MinIO, Ceph, Garage or AWS instead, set:
 *   LINKSNAP_TEST_S3_BUCKET=<an existing bucket you can write to>
 *   LINKSNAP_TEST_S3_ENDPOINT=http://127.0.0.1:9000     (omit for AWS)
 *   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... AWS_REGION=...
 * Each test then works under a fresh random prefix; tests that need the server's internals
 * (request log, injected failures) are skipped.
 */
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, beforeAll } from 'vitest';
import { S3Client, PutObjectCommand, DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';

const require = createRequire(import.meta.url);

export interface LoggedRequest {
  method: string;
  path: string;
}

export interface TestS3 {
  /** undefined for AWS itself */
  endpoint: string | undefined;
  bucket: string;
  external: boolean;
  /** Every request the server received (s3rver only). */
  requests: LoggedRequest[];
  /** Answer the next `n` requests with `status` (s3rver only). */
  failNext(n: number, status?: number): void;
  /** A fresh replica address under this server's bucket. */
  newUrl(): string;
  /** Env for a CLI child process (credentials, region, no SDK chatter). */
  env: Record<string, string>;
  /** Overwrite / delete an object behind linksnap's back (damage). */
  overwrite(key: string, data: Buffer): Promise<void>;
  remove(key: string): Promise<void>;
  read(key: string): Promise<Buffer>;
  /**
   * Every file the server stores under a replica's prefix (s3rver only): object bodies and the
   * server's own metadata files, as the provider (or a thief of its disks) would see them.
   */
  storedFiles(prefix: string): { file: string; data: Buffer }[];
  close(): Promise<void>;
}

function rawClient(endpoint: string | undefined): S3Client {
  return new S3Client({
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    region: process.env.AWS_REGION ?? 'us-east-1',
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
}

/**
 * s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node >= 17)
 * no longer provides: every truncated listing (more than max-keys results) fails with a 500.
 * Map its DES to AES-128-CTR (keys and IVs doubled) in this process; the tokens stay opaque and
 * round-trip, so pagination works as on a real server.
 */
function patchS3rverContinuationTokens(): void {
  const c = require('node:crypto') as typeof import('node:crypto') & { __linksnapDesPatched?: boolean };
  if (c.__linksnapDesPatched) return;
  try {
    c.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return; // DES still available (legacy provider): nothing to do
  } catch {
    /* patch below */
  }
  const wide = (b: Buffer) => Buffer.concat([b, b]);
  const enc = c.createCipheriv.bind(c);
  const dec = c.createDecipheriv.bind(c);
  (c as { createCipheriv: unknown }).createCipheriv = (alg: string, key: Buffer, iv: Buffer, o?: unknown) =>
    alg === 'des' ? enc('aes-128-ctr', wide(key), wide(iv)) : enc(alg, key, iv, o as never);
  (c as { createDecipheriv: unknown }).createDecipheriv = (alg: string, key: Buffer, iv: Buffer, o?: unknown) =>
    alg === 'des' ? dec('aes-128-ctr', wide(key), wide(iv)) : dec(alg, key, iv, o as never);
  c.__linksnapDesPatched = true;
}

export async function startS3(): Promise<TestS3> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const extBucket = process.env.LINKSNAP_TEST_S3_BUCKET;
  if (extBucket) return externalS3(extBucket, process.env.LINKSNAP_TEST_S3_ENDPOINT || undefined);

  patchS3rverContinuationTokens();
  const S3rver = require('s3rver') as new (o: object) => { configureBuckets(): Promise<void>; callback(): http.RequestListener };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linksnap-s3rver-'));
  const bucket = 'linksnap-test';
  const srv = new S3rver({ directory: dir, silent: process.env.S3RVER_LOG !== '1', configureBuckets: [{ name: bucket, configs: [] }] });
  await srv.configureBuckets();
  const handler = srv.callback();
  const requests: LoggedRequest[] = [];
  let failing = 0;
  let failStatus = 503;
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '?', path: decodeURIComponent((req.url ?? '').split('?')[0]!) });
    if (failing > 0) {
      failing--;
      req.resume();
      res.writeHead(failStatus, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${failStatus === 503 ? 'SlowDown' : 'InternalError'}</Code><Message>injected</Message></Error>`);
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const creds = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
  Object.assign(process.env, creds);
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_ENDPOINT_URL;
  delete process.env.AWS_ENDPOINT_URL_S3;
  const diskPath = (key: string) => path.join(dir, bucket, `${key}._S3rver_object`);
  return {
    endpoint,
    bucket,
    external: false,
    requests,
    failNext(n, status = 503) {
      failing = n;
      failStatus = status;
    },
    newUrl: () => `s3://${bucket}/t-${randomBytes(4).toString('hex')}`,
    env: { ...creds, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LINKSNAP_S3_BACKOFF_MS: '20' },
    // Straight on the server's disk, like bit rot or an operator's mistake.
    overwrite: async (key, data) => fs.writeFileSync(diskPath(key), data),
    remove: async (key) => {
      for (const ext of ['object', 'object.md5', 'metadata.json']) fs.rmSync(path.join(dir, bucket, `${key}._S3rver_${ext}`), { force: true });
    },
    read: async (key) => fs.readFileSync(diskPath(key)),
    storedFiles: (prefix) => {
      const top = path.join(dir, bucket, prefix);
      const out: { file: string; data: Buffer }[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else out.push({ file: path.relative(top, p), data: fs.readFileSync(p) });
        }
      };
      walk(top);
      return out;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function externalS3(bucket: string, endpoint: string | undefined): Promise<TestS3> {
  const c = rawClient(endpoint);
  const env: Record<string, string> = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_PROFILE']) if (process.env[k]) env[k] = process.env[k]!;
  return {
    endpoint,
    bucket,
    external: true,
    requests: [],
    failNext() {
      throw new Error('failNext needs the in-process s3rver');
    },
    newUrl: () => `s3://${bucket}/linksnap-test-${Date.now()}-${randomBytes(4).toString('hex')}`,
    env,
    overwrite: async (key, data) => void (await c.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }))),
    remove: async (key) => void (await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))),
    read: async (key) => {
      const r = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    },
    storedFiles() {
      throw new Error('storedFiles needs the in-process s3rver');
    },
    close: async () => c.destroy(),
  };
}

/**
 * One S3 server for the calling test file: started before its tests, closed after them. The
 * returned object stands for the server (it may be used only inside tests and hooks).
 */
export function useS3(): TestS3 {
  let server: TestS3 | undefined;
  beforeAll(async () => {
    server = await startS3();
  });
  afterAll(async () => {
    await server?.close();
  });
  return new Proxy({} as TestS3, {
    get(_target, key) {
      if (!server) throw new Error('the S3 server starts in beforeAll: use it inside tests');
      const v = Reflect.get(server, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(server) : v;
    },
  });
}

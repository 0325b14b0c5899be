/**
 * Offsite replicas against a real S3-compatible server (s3rver on 127.0.0.1; or MinIO/AWS, see
 * s3-server.ts): push, incremental push, pull into an empty folder, damage found by verify,
 * prune/gc propagated, retries, one-line errors.
 */
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { prune } from '../../src/ops/retention/prune.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { push } from '../../src/ops/replica/push.js';
import { pull } from '../../src/ops/replica/pull.js';
import { verifyReplica } from '../../src/ops/replica/verify-replica.js';
import { requestObservers } from '../../src/replica/client.js';
import { parseReplicaUrl } from '../../src/replica/url.js';
import { blobKey, headKey } from '../../src/replica/layout.js';
import { hashBytes } from '../../src/store/hasher.js';
import { SnapError } from '../../src/errors.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { storeProblems } from '../helpers/store-check.js';
import { useS3 } from '../helpers/s3-server.js';

const asRoot = process.getuid?.() === 0;
process.env.LINKSNAP_NO_SYNC = '1';
process.env.LINKSNAP_S3_BACKOFF_MS = '20';
const s3 = useS3();

const ep = () => ({ endpoint: s3.endpoint });
const hex = (s: string | Buffer) => hashBytes(Buffer.from(s)).toString('hex');

function setMtime(p: string, iso: string): void {
  const t = new Date(iso);
  fs.utimesSync(p, t, t);
}

/** A source with the cases that matter remotely: same content with other metadata, links, odd names. */
function populate(latest: string): void {
  fs.mkdirSync(path.join(latest, 'docs/deep'), { recursive: true });
  fs.mkdirSync(path.join(latest, 'empty'));
  fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(latest, 'docs/a-copy.txt'), 'alpha\n'); // same content and metadata
  fs.writeFileSync(path.join(latest, 'docs/a-touched.txt'), 'alpha\n'); // same content, other mtime
  fs.writeFileSync(path.join(latest, 'docs/deep/big.bin'), Buffer.alloc(300_000, 7));
  fs.writeFileSync(path.join(latest, 'ro.txt'), 'read only');
  fs.chmodSync(path.join(latest, 'ro.txt'), 0o444);
  fs.writeFileSync(path.join(latest, 'çé.txt'), 'name bytes');
  fs.writeFileSync(Buffer.concat([Buffer.from(latest + '/'), Buffer.from([0x6e, 0xff, 0xfe])]), 'non utf8 name');
  fs.writeFileSync(path.join(latest, 'empty.txt'), '');
  fs.symlinkSync('docs/a.txt', path.join(latest, 'link'));
  for (const p of ['docs/a.txt', 'docs/a-copy.txt', 'docs/deep/big.bin', 'ro.txt', 'empty.txt']) setMtime(path.join(latest, p), '2024-03-01T12:34:56.789Z');
  setMtime(path.join(latest, 'docs/a-touched.txt'), '2024-04-01T00:00:00Z');
  for (const d of ['docs/deep', 'docs', 'empty', '.']) setMtime(path.join(latest, d), '2024-01-01T00:00:00.123456Z');
}

/** Count the requests our client sends, by method and whether they touch blobs. */
function countRequests() {
  const seen: { method: string; path: string }[] = [];
  const obs = (r: { method: string; path: string }) => void seen.push(r);
  requestObservers.add(obs);
  return {
    seen,
    blobPuts: () => seen.filter((r) => r.method === 'PUT' && r.path.includes('/blobs/')).length,
    stop: () => requestObservers.delete(obs),
  };
}

function compareRoots(original: string, pulled: string, names: string[]): void {
  for (const n of names) {
    expect(diffTrees(readTree(path.join(original, n)), readTree(path.join(pulled, n)), { owners: asRoot }), n).toEqual([]);
  }
}

describe('snap push / pull / verify of a replica', () => {
  it('pushes, pulls into an empty folder and gives the same snapshots byte for byte with metadata', async () => {
    const { root, latest } = newRoot();
    populate(latest);
    const now = steppingClock();
    await take(root, { now });
    fs.writeFileSync(path.join(latest, 'docs/new.txt'), 'second take');
    fs.rmSync(path.join(latest, 'docs/a-copy.txt'));
    await take(root, { now });
    const url = s3.newUrl();

    const count = countRequests();
    const r = await push(root, url, ep());
    count.stop();
    expect(r.snapshots).toHaveLength(2);
    // Contents: alpha, big, read only, name bytes, non utf8, '', second take = 7 distinct.
    expect(r.blobs).toBe(7);
    expect(r.uploadedBlobs).toBe(7);
    expect(count.blobPuts()).toBe(7); // one blob per content, not per (content, metadata)
    expect(r.previousGeneration).toBeNull();

    const target = path.join(tempDir(), 'restore');
    const p = await pull(url, target, ep());
    expect(p.snapshots).toEqual(r.snapshots);
    expect(p.downloadedBlobs).toBe(7);
    compareRoots(root, target, p.snapshots);
    expect(storeProblems(target)).toEqual([]);
    expect(listSnapshots(target).map((s) => [s.name, s.files, s.bytes])).toEqual(listSnapshots(root).map((s) => [s.name, s.files, s.bytes]));
    // The pulled root works as a root: a take there dedups against the pulled objects.
    fs.mkdirSync(path.join(target, '.latest'));
    execFileSync('cp', ['-a', path.join(root, p.snapshots[1]!) + '/.', path.join(target, '.latest')]);
    const t = await take(target, { now: steppingClock(new Date('2027-01-01T00:00:00')) });
    expect(t.newBytes).toBe(0);

    const v = await verifyReplica(url, { samplePercent: 100, ...ep() });
    expect(v.findings.filter((f) => f.severity === 'damage')).toEqual([]);
    expect(v.damaged).toBe(false);
  });

  it('an incremental push sends only the new blobs (counted requests)', async () => {
    const { root, latest } = newRoot();
    populate(latest);
    const now = steppingClock();
    await take(root, { now });
    const url = s3.newUrl();
    await push(root, url, ep());

    // Nothing changed: no blob uploaded, only List + catalog + HEAD traffic.
    let count = countRequests();
    let r = await push(root, url, ep());
    count.stop();
    expect(r.uploadedBlobs).toBe(0);
    expect(count.blobPuts()).toBe(0);
    expect(count.seen.length).toBeLessThan(12);

    fs.writeFileSync(path.join(latest, 'one-new-file'), 'fresh bytes');
    fs.writeFileSync(path.join(latest, 'same-as-alpha'), 'alpha\n'); // known content: no upload
    await take(root, { now });
    count = countRequests();
    r = await push(root, url, ep());
    count.stop();
    expect(r.uploadedBlobs).toBe(1);
    expect(count.blobPuts()).toBe(1);
    const putPaths = count.seen.filter((q) => q.method === 'PUT' && q.path.includes('/blobs/')).map((q) => q.path);
    expect(putPaths[0]).toContain(hex('fresh bytes'));
    if (!s3.external) {
      // The server saw the same: one blob PUT in this push.
      const serverPuts = s3.requests.filter((q) => q.method === 'PUT' && q.path.includes(hex('fresh bytes')));
      expect(serverPuts).toHaveLength(1);
    }
  });

  it('verify finds a missing, a truncated and a corrupted blob, and names the snapshots and paths', async () => {
    const { root, latest } = newRoot();
    populate(latest);
    const now = steppingClock();
    const s1 = await take(root, { now });
    const url = s3.newUrl();
    await push(root, url, ep());
    const u = parseReplicaUrl(url);

    await s3.overwrite(blobKey(u, hex('read only')), Buffer.from('read onlX')); // bit rot, same size
    let v = await verifyReplica(url, { ...ep() }); // no sample: sizes only, cannot see it
    expect(v.damaged).toBe(false);
    v = await verifyReplica(url, { samplePercent: 100, ...ep() });
    expect(v.damaged).toBe(true);
    const content = v.findings.find((f) => f.kind === 'object-content')!;
    expect(content.snapshots).toEqual([s1.snapshot]);
    expect(content.paths).toEqual([`${s1.snapshot}/ro.txt`]);

    await s3.remove(blobKey(u, hex('alpha\n')));
    await s3.overwrite(blobKey(u, hex('non utf8 name')), Buffer.from('short'));
    v = await verifyReplica(url, { ...ep() });
    const missing = v.findings.find((f) => f.kind === 'object-missing')!;
    expect(missing.paths.sort()).toEqual([`${s1.snapshot}/docs/a-copy.txt`, `${s1.snapshot}/docs/a-touched.txt`, `${s1.snapshot}/docs/a.txt`]);
    const size = v.findings.find((f) => f.kind === 'object-size')!;
    expect(size.paths).toEqual([`${s1.snapshot}/n\\xff\\xfe`]);

    // A pull refuses the damaged content rather than publishing it.
    await expect(pull(url, path.join(tempDir(), 'r'), ep())).rejects.toThrow(/missing|BLAKE3|does not match|NoSuchKey/);

    // A push repairs it: the missing blob is uploaded again, the wrong-size one replaced.
    const r = await push(root, url, ep());
    expect(r.uploadedBlobs).toBe(2);
    v = await verifyReplica(url, { ...ep() });
    expect(v.findings.filter((f) => f.kind === 'object-missing' || f.kind === 'object-size')).toEqual([]);
  });

  it('never uploads a local object that does not match its name; another intact variant is used instead', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'same content');
    fs.writeFileSync(path.join(latest, 'b'), 'same content');
    setMtime(path.join(latest, 'b'), '2020-01-01T00:00:00Z'); // second variant of the content
    fs.writeFileSync(path.join(latest, 'c'), 'lonely content');
    const s = await take(root);
    // Damage through the hard links (in-place edits in a snapshot folder), same sizes: the only
    // object of one content, and the variant of the other that push tries first (oldest mtime).
    for (const [n, bytes] of [['c', 'lonely CONTENT'], ['b', 'SAME content']] as const) {
      fs.chmodSync(path.join(root, s.snapshot, n), 0o644);
      fs.writeFileSync(path.join(root, s.snapshot, n), bytes);
    }
    const url = s3.newUrl();
    const u = parseReplicaUrl(url);
    const e = await push(root, url, ep()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(SnapError);
    expect((e as SnapError).message).toMatch(/does not match its BLAKE3 name/);
    await expect(s3.read(blobKey(u, hex('lonely content')))).rejects.toThrow();
    await expect(s3.read(headKey(u))).rejects.toThrow(); // no generation was published
    expect((await s3.read(blobKey(u, hex('same content')))).toString()).toBe('same content'); // from 'a'

    fs.writeFileSync(path.join(root, s.snapshot, 'c'), 'lonely content'); // put right
    const r = await push(root, url, ep());
    expect(r.uploadedBlobs).toBe(1);
    const v = await verifyReplica(url, { samplePercent: 100, ...ep() });
    expect(v.damaged).toBe(false);
  });

  it('verify reports a damaged catalog', async () => {
    const { root, latest } = newRoot();
    populate(latest);
    await take(root);
    const url = s3.newUrl();
    const r = await push(root, url, ep());
    const u = parseReplicaUrl(url);
    const head = JSON.parse((await s3.read(headKey(u))).toString()) as { key: string };
    const cat = await s3.read(head.key);
    cat[200] ^= 0xff;
    await s3.overwrite(head.key, cat);
    const v = await verifyReplica(url, ep());
    expect(v.damaged).toBe(true);
    expect(v.findings[0]!.kind).toBe('catalog-integrity');
    expect(v.generation).toBe(r.generation);
    await expect(pull(url, path.join(tempDir(), 'r'), ep())).rejects.toThrow(/catalog/);
  });

  it('refuses a replica catalog whose snapshot names would escape the root', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    await take(root);
    const url = s3.newUrl();
    await push(root, url, ep());
    const u = parseReplicaUrl(url);
    const head = JSON.parse((await s3.read(headKey(u))).toString()) as { key: string; blake3: string; size: number };
    const file = path.join(tempDir(), 'cat.db');
    fs.writeFileSync(file, await s3.read(head.key));
    const db = new Database(file);
    db.prepare(`UPDATE snapshots SET name = '../../escaped'`).run();
    db.close();
    const bytes = fs.readFileSync(file);
    await s3.overwrite(head.key, bytes);
    await s3.overwrite(headKey(u), Buffer.from(JSON.stringify({ ...head, blake3: hex(bytes), size: bytes.length })));
    const target = tempDir();
    await expect(pull(url, target, ep())).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(fs.existsSync(path.join(target, '../../escaped'))).toBe(false);
  });

  it('prune and gc propagate: blobs only pruned snapshots used leave the replica (after the previous generation)', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    fs.writeFileSync(path.join(latest, 'f'), 'only in the first');
    fs.writeFileSync(path.join(latest, 'keep'), 'everywhere');
    await take(root, { now });
    fs.writeFileSync(path.join(latest, 'f'), 'in the second');
    await take(root, { now });
    const url = s3.newUrl();
    const u = parseReplicaUrl(url);
    await push(root, url, ep());
    const gone = blobKey(u, hex('only in the first'));
    expect((await s3.read(gone)).toString()).toBe('only in the first');

    await prune(root, { policy: { last: 1 } });
    const r1 = await push(root, url, ep());
    // The previous generation still references it: kept, so a pull that began before is safe.
    expect(r1.deletedBlobs).toBe(0);
    expect((await s3.read(gone)).toString()).toBe('only in the first');
    const r2 = await push(root, url, ep());
    expect(r2.deletedBlobs).toBe(1);
    await expect(s3.read(gone)).rejects.toThrow();
    await s3.read(blobKey(u, hex('everywhere')));
    const v = await verifyReplica(url, { samplePercent: 100, ...ep() });
    expect(v.damaged).toBe(false);
    expect(v.snapshots).toHaveLength(1);
    // Old catalogs go too: only the current and the previous generation remain.
    expect(r2.deletedCatalogs).toBe(1);
  });

  it('pulls only the named snapshots', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    fs.writeFileSync(path.join(latest, 'f'), 'v1');
    const s1 = await take(root, { now });
    fs.writeFileSync(path.join(latest, 'f'), 'v2');
    const s2 = await take(root, { now });
    const url = s3.newUrl();
    await push(root, url, ep());
    const target = tempDir();
    const p = await pull(url, target, { snapshots: [s2.snapshot], ...ep() });
    expect(p.snapshots).toEqual([s2.snapshot]);
    expect(p.downloadedBlobs).toBe(1);
    expect(fs.existsSync(path.join(target, s1.snapshot))).toBe(false);
    compareRoots(root, target, [s2.snapshot]);
    expect(storeProblems(target)).toEqual([]);
    await expect(pull(url, tempDir(), { snapshots: ['2001-01-01_00.00.00'], ...ep() })).rejects.toMatchObject({ code: 'NO_SNAPSHOT' });
    // Into a root that already has snapshots: refused.
    await expect(pull(url, root, ep())).rejects.toMatchObject({ code: 'EXISTS' });
  });

  it('retries transient server errors with backoff', async () => {
    if (s3.external) return;
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'retry me');
    await take(root);
    const url = s3.newUrl();
    s3.failNext(3, 503);
    const r = await push(root, url, ep());
    expect(r.uploadedBlobs).toBe(1);
    s3.failNext(2, 500);
    const v = await verifyReplica(url, { samplePercent: 100, ...ep() });
    expect(v.damaged).toBe(false);
    // Bounded: a server that keeps failing makes the push fail with one line, not hang.
    process.env.LINKSNAP_S3_ATTEMPTS = '3';
    try {
      s3.failNext(100, 503);
      const e = await push(root, url, ep()).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(SnapError);
      expect((e as SnapError).message).toMatch(/503/);
      expect((e as SnapError).message).not.toContain('\n');
    } finally {
      s3.failNext(0);
      delete process.env.LINKSNAP_S3_ATTEMPTS;
    }
  });

  it('gives one-line errors for a missing bucket, bad credentials, an unreachable endpoint, a bad address', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    await take(root);
    const noBucket = await push(root, 's3://no-such-bucket-here/x', ep()).catch((e: unknown) => e);
    expect(noBucket).toMatchObject({ code: 'USAGE' });
    expect((noBucket as Error).message).toMatch(/bucket no-such-bucket-here does not exist/);

    if (!s3.external) {
      const saved = process.env.AWS_SECRET_ACCESS_KEY;
      process.env.AWS_ACCESS_KEY_ID = 'WRONG';
      try {
        const e = await push(root, s3.newUrl(), ep()).catch((x: unknown) => x);
        expect(e).toMatchObject({ code: 'USAGE' });
        expect((e as Error).message).toMatch(/rejected the credentials/);
      } finally {
        process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
        process.env.AWS_SECRET_ACCESS_KEY = saved;
      }
    }
    process.env.LINKSNAP_S3_ATTEMPTS = '2';
    try {
      const e = await push(root, 's3://linksnap-test/x', { endpoint: 'http://127.0.0.1:9' }).catch((x: unknown) => x);
      expect(e).toMatchObject({ code: 'IO' });
      expect((e as Error).message).toMatch(/cannot reach the object store at http:\/\/127\.0\.0\.1:9/);
    } finally {
      delete process.env.LINKSNAP_S3_ATTEMPTS;
    }
    await expect(push(root, 'http://bucket/x', ep())).rejects.toMatchObject({ code: 'USAGE' });
    await expect(push(root, 's3://a/x', ep())).rejects.toMatchObject({ code: 'USAGE' });
    await expect(pull(s3.newUrl(), tempDir(), ep())).rejects.toMatchObject({ code: 'NOT_A_STORE' });
  });
});

describe('replica transfers of every size', () => {
  it('uploads a large blob as multipart, pages through long listings, and pulls it back intact', async () => {
    const { root, latest } = newRoot();
    const big = Buffer.alloc(17 * 1024 * 1024 + 12345);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i); // not all zeros: no holes
    fs.writeFileSync(path.join(latest, 'big.bin'), big);
    for (let i = 0; i < 9; i++) fs.writeFileSync(path.join(latest, `small-${i}`), `small ${i}`);
    const s = await take(root);
    const url = s3.newUrl();
    process.env.LINKSNAP_S3_LIST_PAGE = '3';
    try {
      const count = countRequests();
      const r = await push(root, url, ep());
      count.stop();
      expect(r.uploadedBlobs).toBe(10);
      // 17 MiB > the single-PUT limit: initiate + parts + complete.
      expect(count.seen.filter((q) => q.method === 'POST' && q.path.includes(hex(big))).length).toBe(2);
      const again = await push(root, url, ep()); // listing in pages of 3 finds all 10
      expect(again.uploadedBlobs).toBe(0);
      const target = tempDir();
      await pull(url, target, ep());
      expect(fs.readFileSync(path.join(target, s.snapshot, 'big.bin')).equals(big)).toBe(true);
      compareRoots(root, target, [s.snapshot]);
      const v = await verifyReplica(url, { samplePercent: 100, ...ep() });
      expect(v.damaged).toBe(false);
      expect(v.counts.blobsHashed).toBe(10);
    } finally {
      delete process.env.LINKSNAP_S3_LIST_PAGE;
    }
  });
});

/**
 * `snap push` / `snap pull` as a user runs them (the built CLI, a separate process) against the
 * test S3 server: interrupted push then resume (only the missing blobs are sent, counted on the
 * server), interrupted pull then resume, --json, one-line errors. Needs `npx tsc -p .` first.
 * The server runs in this process, so the CLI is spawned asynchronously.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { verifyReplica } from '../../src/ops/replica/verify-replica.js';
import { parseReplicaUrl } from '../../src/replica/url.js';
import { blobKey, headKey } from '../../src/replica/layout.js';
import { CLI } from '../helpers/cli.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { storeProblems } from '../helpers/store-check.js';
import { useS3 } from '../helpers/s3-server.js';

process.env.LINKSNAP_NO_SYNC = '1';
const s3 = useS3();

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The child's own temp folder (its TMPDIR). */
  tmpdir: string;
}

/**
 * Run the CLI. Each child gets its own TMPDIR inside this test's temp area: a push killed with
 * SIGKILL cannot remove its `linksnap-push-*` scratch folder, and it must not pile up in the
 * system temp folder (the test's temp area is removed after the test).
 */
function snap(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const tmpdir = tempDir('linksnap-child-tmp-');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...s3.env, LINKSNAP_NO_SYNC: '1', TMPDIR: tmpdir, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, tmpdir }));
  });
}

const endpointArgs = () => (s3.endpoint ? ['--endpoint', s3.endpoint] : []);
const blobPutsSince = (from: number) => s3.requests.slice(from).filter((q) => q.method === 'PUT' && q.path.includes('/blobs/')).length;

function sourceWith(n: number): { root: string; latest: string } {
  const r = newRoot();
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(r.latest, `file-${i}`), `content number ${i}\n`.repeat(i + 1));
  fs.mkdirSync(path.join(r.latest, 'sub'));
  fs.writeFileSync(path.join(r.latest, 'sub/dup'), 'content number 0\n'); // same content as file-0
  fs.symlinkSync('../file-1', path.join(r.latest, 'sub/link'));
  return r;
}

describe('snap push / pull (CLI)', () => {
  it('a push killed half-way leaves the replica as it was; the next push resumes and sends only the rest', async () => {
    const { root, latest } = sourceWith(8);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    const u = parseReplicaUrl(url);

    const first = await snap(['push', root, url, ...endpointArgs(), '--quiet'], {});
    expect(first.code).toBe(0);
    fs.writeFileSync(path.join(latest, 'later-1'), 'added later 1');
    fs.writeFileSync(path.join(latest, 'later-2'), 'added later 2');
    fs.writeFileSync(path.join(latest, 'later-3'), 'added later 3');
    await take(root, { now: steppingClock(new Date('2026-06-01T00:00:00')) });
    const headBefore = (await s3.read(headKey(u))).toString();

    // Killed after the 2nd of 3 new blobs: HEAD still names the first generation.
    const killed = await snap(['push', root, url, ...endpointArgs(), '--concurrency', '1'], {
      LINKSNAP_CRASH_AFTER: '2',
      LINKSNAP_CRASH_AT: '^push:blob-uploaded$',
    });
    expect(killed.signal).toBe('SIGKILL');
    // its scratch folder is left behind, in the child's own temp folder (removed with the test's)
    expect(fs.readdirSync(killed.tmpdir).filter((n) => n.startsWith('linksnap-push-'))).toHaveLength(1);
    expect((await s3.read(headKey(u))).toString()).toBe(headBefore);
    const v = await verifyReplica(url, { samplePercent: 100, endpoint: s3.endpoint });
    expect(v.damaged).toBe(false);
    expect(v.snapshots).toHaveLength(1);

    // Killed after the catalog upload but before HEAD: still the old generation.
    const killed2 = await snap(['push', root, url, ...endpointArgs()], { LINKSNAP_CRASH_AFTER: '1', LINKSNAP_CRASH_AT: '^push:catalog-uploaded$' });
    expect(killed2.signal).toBe('SIGKILL');
    expect((await s3.read(headKey(u))).toString()).toBe(headBefore);

    const from = s3.requests.length;
    const resumed = await snap(['push', root, url, ...endpointArgs(), '--json']);
    expect(resumed.code).toBe(0);
    const j = JSON.parse(resumed.stdout) as { uploadedBlobs: number; skippedBlobs: number; snapshots: string[]; deletedCatalogs: number };
    if (!s3.external) expect(blobPutsSince(from)).toBe(j.uploadedBlobs);
    expect(j.uploadedBlobs).toBe(0); // the killed runs had already sent all three new blobs
    expect(j.snapshots).toHaveLength(2);
    expect(j.deletedCatalogs).toBe(1); // the orphan catalog of the run killed before HEAD
    expect(resumed.stderr).toBe('');

    const v2 = await verifyReplica(url, { samplePercent: 100, endpoint: s3.endpoint });
    expect(v2.damaged).toBe(false);
    expect(v2.snapshots).toHaveLength(2);
  });

  it('resumes after a kill that sent one of four new blobs, uploading exactly the three missing ones', async () => {
    const { root, latest } = sourceWith(3);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    expect((await snap(['push', root, url, ...endpointArgs(), '-q'])).code).toBe(0);
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(latest, `new-${i}`), `new content ${i}`);
    await take(root, { now: steppingClock(new Date('2026-07-01T00:00:00')) });
    const killed = await snap(['push', root, url, ...endpointArgs(), '--concurrency', '1'], { LINKSNAP_CRASH_AFTER: '1', LINKSNAP_CRASH_AT: '^push:blob-uploaded$' });
    expect(killed.signal).toBe('SIGKILL');
    const from = s3.requests.length;
    const resumed = await snap(['push', root, url, ...endpointArgs(), '--json']);
    const j = JSON.parse(resumed.stdout) as { uploadedBlobs: number; skippedBlobs: number };
    expect(j.uploadedBlobs).toBe(3);
    if (!s3.external) expect(blobPutsSince(from)).toBe(3);
  });

  it('pulls into an empty folder; a pull killed half-way is resumed and reuses what it placed', async () => {
    const { root, latest } = sourceWith(10);
    const now = steppingClock();
    await take(root, { now });
    fs.writeFileSync(path.join(latest, 'file-3'), 'changed');
    fs.chmodSync(path.join(latest, 'file-4'), 0o600);
    await take(root, { now });
    const url = s3.newUrl();
    expect((await snap(['push', root, url, ...endpointArgs(), '-q'])).code).toBe(0);

    const target = path.join(tempDir(), 'new-machine', 'music');
    const killed = await snap(['pull', url, target, ...endpointArgs(), '--concurrency', '1'], { LINKSNAP_CRASH_AFTER: '4', LINKSNAP_CRASH_AT: '^pull:blob-placed$' });
    expect(killed.signal).toBe('SIGKILL');
    // Nothing is a snapshot yet: the local catalog is still the empty one.
    expect(fs.readdirSync(target).filter((n) => !n.startsWith('.'))).toEqual([]);

    const r = await snap(['pull', url, target, ...endpointArgs(), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { snapshots: string[]; reusedBlobs: number; downloadedBlobs: number; blobs: number };
    expect(j.reusedBlobs).toBe(4);
    expect(j.downloadedBlobs).toBe(j.blobs - 4);
    expect(j.snapshots).toHaveLength(2);
    for (const n of j.snapshots) expect(diffTrees(readTree(path.join(root, n)), readTree(path.join(target, n)))).toEqual([]);
    expect(storeProblems(target)).toEqual([]);

    const list = await snap(['list', target, '--json']);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((s) => s.name)).toEqual(j.snapshots);
  });

  it('a pull killed after its catalog commit is finished by the next run on that root', async () => {
    const { root } = sourceWith(3);
    const s = await take(root);
    const url = s3.newUrl();
    expect((await snap(['push', root, url, ...endpointArgs(), '-q'])).code).toBe(0);
    const target = tempDir();
    const killed = await snap(['pull', url, target, ...endpointArgs()], { LINKSNAP_CRASH_AFTER: '1', LINKSNAP_CRASH_AT: '^pull:catalog-committed$' });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(target, s.snapshot))).toBe(false);
    fs.mkdirSync(path.join(target, '.latest'));
    // Recovery publishes the staged folder (an empty .latest after 3 files needs --allow-shrink).
    const t = await snap(['take', target, '--quiet', '--allow-shrink']);
    expect(t.code).toBe(0);
    expect(diffTrees(readTree(path.join(root, s.snapshot)), readTree(path.join(target, s.snapshot)))).toEqual([]);
  });

  it('prints one line (plus a hint) and the documented exit code for expected failures', async () => {
    const { root } = sourceWith(1);
    await take(root);
    const noBucket = await snap(['push', root, 's3://no-such-bucket-x/p', ...endpointArgs()]);
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toMatch(/^snap: bucket no-such-bucket-x does not exist/);
    expect(noBucket.stderr).not.toMatch(/\n\s+at /);

    const unreachable = await snap(['push', root, 's3://linksnap-test/p', '--endpoint', 'http://127.0.0.1:9'], { LINKSNAP_S3_ATTEMPTS: '2' });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toMatch(/^snap: cannot reach the object store at http:\/\/127\.0\.0\.1:9/);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(2);

    if (!s3.external) {
      const badKey = await snap(['push', root, s3.newUrl(), ...endpointArgs()], { AWS_ACCESS_KEY_ID: 'nobody' });
      expect(badKey.code).toBe(2);
      expect(badKey.stderr).toMatch(/^snap: the object store rejected the credentials .*InvalidAccessKeyId/);
    }
    const noReplica = await snap(['pull', s3.newUrl(), tempDir(), ...endpointArgs()]);
    expect(noReplica.code).toBe(2);
    expect(noReplica.stderr).toMatch(/^snap: no linksnap replica at s3:\/\//);

    const badUrl = await snap(['push', root, 'not-a-url']);
    expect(badUrl.code).toBe(2);
    const noStore = await snap(['push', tempDir(), s3.newUrl(), ...endpointArgs()]);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(/no linksnap store/);
  });
});

describe('snap verify s3://… (CLI)', () => {
  it('exits 0 on an intact replica and 1 naming the damaged path after a blob is altered', async () => {
    const { root } = sourceWith(3);
    await take(root);
    const url = s3.newUrl();
    expect((await snap(['push', root, url, ...endpointArgs()])).code).toBe(0);
    const ok = await snap(['verify', url, '--sample', '100', ...endpointArgs()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/no damage/);

    // Alter the blob holding file-2's content (same size, other bytes).
    const report = await verifyReplica(url, { endpoint: s3.endpoint });
    const { hashStoredFile } = await import('../../src/store/blobfile.js');
    const snapDir = path.join(root, fs.readdirSync(root).find((n) => /^\d{4}-/.test(n))!);
    const { hash } = await hashStoredFile(path.join(snapDir, 'file-2'));
    const key = blobKey(parseReplicaUrl(url), hash.toString('hex'));
    const original = await s3.read(key);
    await s3.overwrite(key, Buffer.from(original.map((b) => b ^ 0xff)));
    expect(report.damaged).toBe(false);

    const bad = await snap(['verify', url, '--sample', '100', '--json', ...endpointArgs()]);
    expect(bad.code).toBe(1);
    const j = JSON.parse(bad.stdout);
    expect(j.damaged).toBe(true);
    expect(j.findings.some((f: { paths: string[] }) => f.paths.some((p) => p.endsWith('/file-2')))).toBe(true);

    const usage = await snap(['verify', url, '--repair', ...endpointArgs()]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/local roots only/);
  });
});

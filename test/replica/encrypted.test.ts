/**
 * Encrypted replicas through the CLI (a separate process) against the real s3rver: nothing in
 * the bucket reveals a content, a name or a BLAKE3; pull and verify with the key; a wrong key
 * is exit 2 with nothing written; tampering (a flipped byte, a cut, a swap, a replayed HEAD or
 * catalog) is found by verify and refused by pull; keys change without re-uploading; an
 * interrupted encrypted push resumes. Needs `npx tsc -p .` first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { beforeEach, describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { parseReplicaUrl } from '../../src/replica/url.js';
import { blobsPrefix, catalogKey, headKey } from '../../src/replica/layout.js';
import { hashBytes } from '../../src/store/hasher.js';
import { CLI } from '../helpers/cli.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { storeProblems } from '../helpers/store-check.js';
import { useS3 } from '../helpers/s3-server.js';

const s3 = useS3();

/** This machine's memory of replica states (rollback detection), fresh per test. */
let stateDir: string;
beforeEach(() => {
  stateDir = tempDir('linksnap-state-');
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const PASS = 'correct horse battery staple';

/** The CLI, detached from any terminal (so no prompt can hang it), with a cheap scrypt. */
function snap(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const full: Record<string, string | undefined> = {
    ...process.env,
    ...s3.env,
    LINKSNAP_NO_SYNC: '1',
    TMPDIR: tempDir('linksnap-child-tmp-'),
    LINKSNAP_STATE_DIR: stateDir,
    LINKSNAP_SCRYPT_LOG_N: '12',
    LINKSNAP_PASSPHRASE: PASS,
    ...env,
  };
  for (const k of Object.keys(full)) if (full[k] === undefined) delete full[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args, ...(s3.endpoint ? ['--endpoint', s3.endpoint] : [])], { env: full as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const FILE_NAME = 'tax-return-of-jane-doe.pdf';
const SECRET_TEXT = 'the secret recipe: three spoons of sugar and a pinch of salt\n';

function source(n = 4): { root: string; latest: string; contents: Buffer[] } {
  const r = newRoot();
  const contents: Buffer[] = [];
  const put = (rel: string, data: Buffer) => {
    fs.mkdirSync(path.dirname(path.join(r.latest, rel)), { recursive: true });
    fs.writeFileSync(path.join(r.latest, rel), data);
    contents.push(data);
  };
  put(FILE_NAME, Buffer.from(SECRET_TEXT.repeat(50)));
  for (let i = 0; i < n; i++) put(`dir-${i}/note-${i}.txt`, Buffer.from(`private note number ${i}: ${'x'.repeat(i * 100)}\n`));
  put('big.bin', Buffer.alloc(3 << 20, 'B')); // more than one 1 MiB segment
  // two contents of the same size, for the swap test
  put('same-a.txt', Buffer.from('AAAAAAAAAAAAAAAAAAAA'));
  put('same-b.txt', Buffer.from('BBBBBBBBBBBBBBBBBBBB'));
  return { ...r, contents };
}

/** Every needle found in the server's files for this replica. */
function leaks(url: string, needles: Buffer[]): string[] {
  const out: string[] = [];
  for (const { file, data } of s3.storedFiles(parseReplicaUrl(url).prefix)) {
    for (const n of needles) {
      if (data.includes(n)) out.push(`${file} holds ${JSON.stringify(n.subarray(0, 40).toString())}`);
      if (file.includes(n.toString())) out.push(`object name ${file}`);
    }
  }
  return out;
}

/** The bytes of every file the server keeps for the replica, to prove nothing was written. */
function bucketState(url: string): string {
  return s3
    .storedFiles(parseReplicaUrl(url).prefix)
    .filter((f) => !f.file.endsWith('metadata.json')) // s3rver rewrites access times there on reads
    .map((f) => `${f.file}:${hashBytes(f.data).toString('hex')}`)
    .sort()
    .join('\n');
}

async function blobKeys(url: string): Promise<string[]> {
  const u = parseReplicaUrl(url);
  return s3
    .storedFiles(u.prefix)
    .map((f) => f.file)
    .filter((f) => f.startsWith('blobs/') && f.endsWith('._S3rver_object'))
    .map((f) => `${blobsPrefix(u)}${f.slice('blobs/'.length, -'._S3rver_object'.length)}`);
}

// Each test runs the CLI 5 to 15 times (a process each, with its start-up and scrypt).
describe.skipIf(!!process.env.LINKSNAP_TEST_S3_BUCKET)('encrypted replicas (CLI)', { timeout: 240_000 }, () => {
  it('a plain replica shows contents, names and hashes (the scan below can fail)', async () => {
    const { root, contents } = source(1);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    expect((await snap(['push', root, url, '-q'], { LINKSNAP_PASSPHRASE: undefined })).code).toBe(0);
    const found = leaks(url, [Buffer.from(SECRET_TEXT), Buffer.from(FILE_NAME), Buffer.from(hashBytes(contents[0]!).toString('hex'))]);
    expect(found.length).toBeGreaterThanOrEqual(3);
  });

  it('push --encrypt leaves no content, file name or BLAKE3 in the bucket; pull rebuilds it exactly; verify is clean', async () => {
    const { root, contents } = source();
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    const p = await snap(['push', root, url, '--encrypt', '--json']);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ encrypted: true, uploadedBlobs: contents.length });

    const needles = [
      Buffer.from(SECRET_TEXT.slice(0, 30)),
      Buffer.from(FILE_NAME),
      Buffer.from('note-2.txt'),
      Buffer.from('dir-3'),
      Buffer.from('private note number'),
      Buffer.from('SQLite format 3'),
      ...contents.map((c) => Buffer.from(hashBytes(c).toString('hex'))),
      ...contents.map((c) => hashBytes(c)), // the raw hash too
    ];
    expect(leaks(url, needles)).toEqual([]);

    const v = await snap(['verify', url, '--sample', '100']);
    expect(v.stdout).toMatch(/no damage/);
    expect(v.code).toBe(0);

    const target = path.join(tempDir(), 'restored');
    const pl = await snap(['pull', url, target, '-q', '--limit-download', '100000']);
    expect(pl.stderr).toBe('');
    expect(pl.code).toBe(0);
    const snapName = fs.readdirSync(root).find((n) => /^\d{4}-/.test(n))!;
    expect(diffTrees(readTree(path.join(root, snapName)), readTree(path.join(target, snapName)))).toEqual([]);
    expect(storeProblems(target)).toEqual([]);

    // a second push with nothing new uploads nothing: the names are deterministic under the key
    const again = await snap(['push', root, url, '--encrypt', '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ uploadedBlobs: 0, skippedBlobs: contents.length - 0 });
  });

  it('the replica decides: push without --encrypt to an encrypted one, or with it to a plain one, is refused', async () => {
    const { root } = source(1);
    await take(root, { now: steppingClock() });
    const enc = s3.newUrl();
    const plain = s3.newUrl();
    expect((await snap(['push', root, enc, '--encrypt', '-q'])).code).toBe(0);
    expect((await snap(['push', root, plain, '-q'])).code).toBe(0);
    const a = await snap(['push', root, enc, '-q']);
    expect(a.code).toBe(2);
    expect(a.stderr.split('\n')[0]).toMatch(/is an encrypted replica: push to it with --encrypt/);
    const b = await snap(['push', root, plain, '--encrypt', '-q']);
    expect(b.code).toBe(2);
    expect(b.stderr.split('\n')[0]).toMatch(/is a plain \(unencrypted\) replica/);
  });

  it('a wrong passphrase, or none, is exit 2 with one line, and nothing is written anywhere (push, pull, verify)', async () => {
    const { root, latest } = source(1);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    expect((await snap(['push', root, url, '--encrypt', '-q'])).code).toBe(0);
    fs.writeFileSync(path.join(latest, 'new-file'), 'new content');
    await take(root, { now: steppingClock(new Date('2026-05-01T00:00:00')) });
    const bucket = bucketState(url);
    const state = readTree(stateDir);
    const localCatalog = fs.readFileSync(path.join(root, '.snap', 'catalog.db'));
    const target = path.join(tempDir(), 'never');
    const wrongFile = path.join(tempDir(), 'pw');
    fs.writeFileSync(wrongFile, 'not the passphrase\n');

    const runs = [
      await snap(['push', root, url, '--encrypt', '-q'], { LINKSNAP_PASSPHRASE: 'wrong' }),
      await snap(['pull', url, target], { LINKSNAP_PASSPHRASE: 'wrong' }),
      await snap(['verify', url, '--sample', '100'], { LINKSNAP_PASSPHRASE: 'wrong' }),
      await snap(['verify', url, '--passphrase-file', wrongFile]),
      await snap(['pull', url, target, '--key-file', wrongFile]), // too short for a key file
    ];
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^snap: (wrong passphrase: it opens none of the 1 key of|the key file .* holds)/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    // No passphrase anywhere and no terminal to ask on: the message names the three ways.
    const none = await snap(['pull', url, target], { LINKSNAP_PASSPHRASE: undefined });
    expect(none.code).toBe(2);
    expect(none.stderr.split('\n')[0]).toMatch(/LINKSNAP_PASSPHRASE.*--passphrase-file.*--key-file/);

    expect(bucketState(url)).toBe(bucket);
    expect(fs.existsSync(target)).toBe(false);
    expect(readTree(stateDir)).toEqual(state);
    expect(fs.readFileSync(path.join(root, '.snap', 'catalog.db')).equals(localCatalog)).toBe(true);
  });

  it('finds a flipped byte, a truncated blob and a swapped blob (verify exit 1, naming the paths); pull refuses each', async () => {
    const { root } = source(1);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    expect((await snap(['push', root, url, '--encrypt', '-q'])).code).toBe(0);
    expect((await snap(['verify', url, '--sample', '100', '-q'])).code).toBe(0);
    const keys = await blobKeys(url);
    const originals = new Map<string, Buffer>();
    for (const k of keys) originals.set(k, await s3.read(k));
    const restore = async () => {
      for (const [k, d] of originals) await s3.overwrite(k, d);
    };
    const bySize = new Map<number, string[]>();
    for (const [k, d] of originals) bySize.set(d.length, [...(bySize.get(d.length) ?? []), k]);
    const [swapA, swapB] = [...bySize.values()].find((ks) => ks.length >= 2)!;
    const big = [...originals].sort((a, b) => b[1].length - a[1].length)[0]!;

    const damage: [string, () => Promise<void>, RegExp][] = [
      [
        'flipped byte',
        async () => {
          const d = Buffer.from(originals.get(swapA!)!);
          d[d.length - 20]! ^= 1;
          await s3.overwrite(swapA!, d);
        },
        /object-content: .*same-[ab]\.txt[\s\S]*fails authentication/,
      ],
      // cut at a segment boundary: the size check finds it without a download, authentication with one
      ['truncated', () => s3.overwrite(big[0], big[1].subarray(0, big[1].length - (1 << 20) - 16)), /object-size: .*big\.bin/],
      ['swapped', () => s3.overwrite(swapA!, originals.get(swapB!)!), /object-content: .*same-[ab]\.txt[\s\S]*fails authentication/],
    ];
    for (const [what, harm, finding] of damage) {
      await harm();
      const v = await snap(['verify', url, '--sample', '100']);
      expect(v.code, what).toBe(1);
      expect(v.stdout, what).toMatch(finding);
      const target = path.join(tempDir(), 'pulled');
      const p = await snap(['pull', url, target]);
      expect(p.code, what).not.toBe(0);
      expect(p.stderr, what).toMatch(/fails authentication|does not match/);
      expect(fs.readdirSync(target).filter((n) => !n.startsWith('.')), what).toEqual([]);
      await restore();
    }
    expect((await snap(['verify', url, '--sample', '100', '-q'])).code).toBe(0);
  });

  it('finds an old HEAD replayed, and an old catalog put under the current name (verify exit 1); pull refuses both', async () => {
    const { root, latest } = source(1);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    const u = parseReplicaUrl(url);
    const first = JSON.parse((await snap(['push', root, url, '--encrypt', '--json'])).stdout) as { generation: string };
    const oldHead = await s3.read(headKey(u));
    const oldCatalog = await s3.read(catalogKey(u, first.generation));
    fs.writeFileSync(path.join(latest, 'later'), 'added later');
    await take(root, { now: steppingClock(new Date('2026-05-01T00:00:00')) });
    const second = JSON.parse((await snap(['push', root, url, '--encrypt', '--json'])).stdout) as { generation: string };
    const newHead = await s3.read(headKey(u));
    const newCatalog = await s3.read(catalogKey(u, second.generation));

    // The old HEAD authenticates (it once was genuine): this machine saw a newer one.
    await s3.overwrite(headKey(u), oldHead);
    const v = await snap(['verify', url]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/replica-rollback: HEAD, .*catalogs\/.*\n.*older state was put back/);
    const target = path.join(tempDir(), 'pulled');
    const p = await snap(['pull', url, target]);
    expect(p.code).toBe(6);
    expect(p.stderr).toMatch(/replayed/);
    expect(fs.existsSync(target)).toBe(false);
    // A machine that never saw the newer state cannot tell (documented): it sees the old replica.
    const fresh = await snap(['verify', url, '-q'], { LINKSNAP_STATE_DIR: tempDir('other-machine-') });
    expect(fresh.code).toBe(0);
    // and push refuses to build on the replayed state
    const push = await snap(['push', root, url, '--encrypt', '-q']);
    expect(push.code).toBe(6);
    expect(push.stderr.split('\n')[0]).toMatch(/older state was put back/);

    // The current HEAD with the old catalog's bytes under the current catalog's name.
    await s3.overwrite(headKey(u), newHead);
    await s3.overwrite(catalogKey(u, second.generation), oldCatalog);
    const v2 = await snap(['verify', url]);
    expect(v2.code).toBe(1);
    expect(v2.stdout).toMatch(/catalog-integrity: .*catalogs\/[\s\S]*fails authentication/);
    const p2 = await snap(['pull', url, target]);
    expect(p2.code).toBe(6);
    expect(p2.stderr).toMatch(/fails authentication/);
    expect(fs.existsSync(target)).toBe(false);

    await s3.overwrite(catalogKey(u, second.generation), newCatalog);
    expect((await snap(['verify', url, '-q'])).code).toBe(0);
  });

  it('key add, then remove the first key: the old passphrase fails, the new one works, and no blob is uploaded again', async () => {
    const { root } = source(1);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    expect((await snap(['push', root, url, '--encrypt', '-q'])).code).toBe(0);
    const firstId = (JSON.parse((await snap(['key', 'list', url, '--json'])).stdout) as { keys: { id: string }[] }).keys[0]!.id;
    const from = s3.requests.length;

    const newPass = path.join(tempDir(), 'new-pass');
    fs.writeFileSync(newPass, 'a much better passphrase\n');
    const added = await snap(['key', 'add', url, '--new-passphrase-file', newPass]);
    expect(added.code).toBe(0);
    const newId = added.stdout.trim();
    // the old key cannot be removed with itself alone as proof: it must open a key that stays
    const self = await snap(['key', 'remove', url, firstId]);
    expect(self.code).toBe(2);
    const removed = await snap(['key', 'remove', url, firstId, '--passphrase-file', newPass]);
    expect(removed.code).toBe(0);
    const list = await snap(['key', 'list', url]);
    expect(list.stdout).toMatch(new RegExp(`^${newId}  passphrase `));
    expect(list.stdout).not.toMatch(firstId);

    const old = await snap(['verify', url]);
    expect(old.code).toBe(2);
    expect(old.stderr).toMatch(/wrong passphrase/);
    const ok = await snap(['verify', url, '--sample', '100', '-q'], { LINKSNAP_PASSPHRASE: 'a much better passphrase' });
    expect(ok.code).toBe(0);
    const push = await snap(['push', root, url, '--encrypt', '--json', '--passphrase-file', newPass]);
    expect(JSON.parse(push.stdout)).toMatchObject({ uploadedBlobs: 0 });
    const puts = s3.requests.slice(from).filter((q) => q.method === 'PUT');
    expect(puts.filter((q) => q.path.includes('/blobs/'))).toEqual([]);
    expect(puts.filter((q) => q.path.includes('/keys/'))).toHaveLength(1);
    // a key file works as well as a passphrase
    const keyFile = path.join(tempDir(), 'replica.key');
    fs.writeFileSync(keyFile, Buffer.alloc(32, 7));
    expect((await snap(['key', 'add', url, '--new-key-file', keyFile], { LINKSNAP_PASSPHRASE: 'a much better passphrase' })).code).toBe(0);
    expect((await snap(['verify', url, '-q', '--key-file', keyFile], { LINKSNAP_PASSPHRASE: undefined })).code).toBe(0);
  });

  it('an interrupted encrypted push resumes: the next one sends only what is missing', async () => {
    const { root, latest } = source(1);
    await take(root, { now: steppingClock() });
    const url = s3.newUrl();
    // killed after the key and two blobs: no HEAD yet, but the replica is already encrypted
    const killed = await snap(['push', root, url, '--encrypt', '--concurrency', '1'], { LINKSNAP_CRASH_AFTER: '2', LINKSNAP_CRASH_AT: '^push:blob-uploaded$' });
    expect(killed.signal).toBe('SIGKILL');
    const plain = await snap(['push', root, url, '-q']);
    expect(plain.code).toBe(2); // detected from the key alone
    const from = s3.requests.length;
    const resumed = await snap(['push', root, url, '--encrypt', '--json']);
    const j = JSON.parse(resumed.stdout) as { uploadedBlobs: number; skippedBlobs: number; blobs: number };
    expect(j.skippedBlobs).toBe(2);
    expect(j.uploadedBlobs).toBe(j.blobs - 2);
    expect(s3.requests.slice(from).filter((q) => q.method === 'PUT' && q.path.includes('/blobs/'))).toHaveLength(j.uploadedBlobs);

    fs.writeFileSync(path.join(latest, 'later-1'), 'added later 1');
    fs.writeFileSync(path.join(latest, 'later-2'), 'added later 2');
    await take(root, { now: steppingClock(new Date('2026-05-01T00:00:00')) });
    const killed2 = await snap(['push', root, url, '--encrypt', '--concurrency', '1'], { LINKSNAP_CRASH_AFTER: '1', LINKSNAP_CRASH_AT: '^push:blob-uploaded$' });
    expect(killed2.signal).toBe('SIGKILL');
    const resumed2 = JSON.parse((await snap(['push', root, url, '--encrypt', '--json', '--limit-upload', '1024'])).stdout) as { uploadedBlobs: number };
    expect(resumed2.uploadedBlobs).toBe(1);
    expect((await snap(['verify', url, '--sample', '100', '-q'])).code).toBe(0);
  });
});

/**
 * `snap pull` checks every downloaded blob against its BLAKE3 name, not only its size: one blob
 * altered on the server with its size kept (bit rot) stops the pull with the hash-mismatch
 * error, and nothing of that content is published — no object file, no snapshot folder, no
 * snapshot in the local catalog. Against the real s3rver (test/helpers/s3-server.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { push } from '../../src/ops/replica/push.js';
import { pull } from '../../src/ops/replica/pull.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { parseReplicaUrl } from '../../src/replica/url.js';
import { blobKey } from '../../src/replica/layout.js';
import { HashMismatch } from '../../src/replica/client.js';
import { hashBytes } from '../../src/store/hasher.js';
import { newRoot, tempDir } from '../helpers/tmp.js';
import { useS3 } from '../helpers/s3-server.js';

process.env.LINKSNAP_NO_SYNC = '1';
process.env.LINKSNAP_S3_BACKOFF_MS = '20';
const s3 = useS3();

const hex = (s: string) => hashBytes(Buffer.from(s)).toString('hex');

/** Every file name below `dir` (recursively). */
function namesBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((n) => path.basename(n));
}

describe('pull and a blob damaged on the server with its size kept', () => {
  it('fails with the hash mismatch and publishes nothing of that content', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'intact-1.txt'), 'nothing wrong with this one');
    fs.writeFileSync(path.join(latest, 'intact-2.txt'), 'nor with this one');
    fs.writeFileSync(path.join(latest, 'rotten.txt'), 'bit rot hits this one');
    await take(root);
    const url = s3.newUrl();
    await push(root, url, { endpoint: s3.endpoint });

    const key = blobKey(parseReplicaUrl(url), hex('bit rot hits this one'));
    const good = await s3.read(key);
    const bad = Buffer.from('bit rot hits this onE');
    expect(bad.length).toBe(good.length); // the size alone cannot tell
    await s3.overwrite(key, bad);

    const dest = path.join(tempDir(), 'pulled');
    const err = await pull(url, dest, { endpoint: s3.endpoint }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HashMismatch);
    expect((err as HashMismatch).code).toBe('IO');
    expect((err as HashMismatch).hex).toBe(hex('bit rot hits this one'));
    expect((err as Error).message).toMatch(/does not match its BLAKE3 name/);
    expect((err as Error).message).toContain(key);

    // nothing of it was published: no object of that content, no snapshot (folder or row)
    expect(namesBelow(path.join(dest, '.snap/objects')).filter((n) => n.startsWith(hex('bit rot hits this one')))).toEqual([]);
    expect(fs.readdirSync(dest).filter((n) => n !== '.snap')).toEqual([]);
    expect(namesBelow(path.join(dest, '.snap/staging'))).toEqual([]);
    expect(listSnapshots(dest)).toEqual([]);
  });
});

/**
 * Extended attributes through a replica: `push` carries the sets in the catalog (the blobs are
 * content only), and `pull` publishes each object with its attributes and rebuilds the folders
 * with theirs. Checked with getfattr/getfacl on the pulled root, and by verify.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { runCliAsync } from '../helpers/cli.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { useS3 } from '../helpers/s3-server.js';

const TOOLS = ['setfattr', 'getfattr', 'setfacl', 'getfacl'].every((c) => spawnSync(c, ['--version']).status === 0);
if (!TOOLS) console.warn('xattrs-replica: setfattr/getfattr/setfacl/getfacl missing (apt-get install attr acl): test skipped');

process.env.LINKSNAP_NO_SYNC = '1';
const s3 = useS3();

const snap = (args: string[]) => runCliAsync(args, { ...s3.env, LINKSNAP_NO_SYNC: '1' });

const dump = (dir: string) => ({
  xattrs: spawnSync('getfattr', ['-R', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: dir, encoding: 'utf8' }).stdout,
  acls: spawnSync('getfacl', ['-R', '-p', '.'], { cwd: dir, encoding: 'utf8' }).stdout,
});

describe.skipIf(!TOOLS)('extended attributes through push and pull', () => {
  it('a pulled root has every object and folder with its recorded attributes, and verifies clean', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'dir'));
    fs.writeFileSync(path.join(latest, 'dir/a'), 'same\n');
    fs.writeFileSync(path.join(latest, 'dir/b'), 'same\n');
    fs.utimesSync(path.join(latest, 'dir/a'), 1_700_000_000, 1_700_000_000);
    fs.utimesSync(path.join(latest, 'dir/b'), 1_700_000_000, 1_700_000_000);
    spawnSync('setfattr', ['-n', 'user.tag', '-v', 'a', path.join(latest, 'dir/a')]);
    spawnSync('setfacl', ['-m', 'u:nobody:r--', path.join(latest, 'dir/b')]);
    spawnSync('setfacl', ['-d', '-m', 'u:nobody:r-x', path.join(latest, 'dir')]);
    spawnSync('setfattr', ['-n', 'user.top', '-v', '1', latest]);
    const t = await take(root, { xattrs: true, now: steppingClock() });
    const url = s3.newUrl();
    const endpoint = s3.endpoint ? ['--endpoint', s3.endpoint] : [];
    const push = await snap(['push', root, url, ...endpoint, '--quiet']);
    expect(push.code, push.stderr).toBe(0);
    const target = path.join(tempDir(), 'pulled');
    const pull = await snap(['pull', url, target, ...endpoint, '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(JSON.parse(pull.stdout).downloadedBlobs).toBe(1); // one content, two objects (other attributes)
    expect(dump(path.join(target, t.snapshot))).toEqual(dump(latest));
    const verify = await snap(['verify', target]);
    expect(verify.code, verify.stdout).toBe(0);
  });
});

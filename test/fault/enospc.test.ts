/**
 * Disk full during take, on a real small tmpfs: one clear line and exit 5, no half snapshot,
 * earlier snapshots intact, no partial blobs left, and the next take succeeds once there is room.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { isRoot, mountTmpfs, unmount } from '../helpers/mount.js';

const mounts: string[] = [];
afterEach(() => {
  while (mounts.length) unmount(mounts.pop()!);
});

function objectFiles(root: string): string[] {
  const objects = path.join(root, '.snap/objects');
  return fs.readdirSync(objects).flatMap((d) => fs.readdirSync(path.join(objects, d)));
}

describe.skipIf(!isRoot)('disk full (ENOSPC) during take', () => {
  it('fails cleanly, keeps history, leaves no partial blobs, and recovers when space is freed', () => {
    const data = tempDir();
    const root = path.join(tempDir(), 'small');
    expect(mountTmpfs(root, '4m')).toBe(true);
    mounts.push(root);
    fs.symlinkSync(data, path.join(root, '.latest'));
    fs.writeFileSync(path.join(data, 'small.txt'), 'fits easily');
    const first = runCli(['take', root]);
    expect(first.code, first.stderr).toBe(0);
    const firstPath = first.stdout.trim();
    const firstTree = readTree(firstPath);

    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(data, `big${i}.bin`), crypto.randomBytes(700_000));
    const full = runCli(['take', root]);
    expect(full.code).toBe(5);
    expect(full.stderr).toMatch(/^snap: no space left/m);
    expect(full.stderr).not.toMatch(/\n\s+at /);
    // No half snapshot; the earlier one is intact; no tmp, staging or unreferenced blobs remain.
    expect(fs.readdirSync(root).filter((n) => /^\d{4}-/.test(n))).toEqual([path.basename(firstPath)]);
    expect(diffTrees(firstTree, readTree(firstPath))).toEqual([]);
    expect(fs.readdirSync(path.join(root, '.snap/tmp'))).toEqual([]);
    expect(fs.readdirSync(path.join(root, '.snap/staging'))).toEqual([]);
    expect(objectFiles(root)).toHaveLength(1);
    expect(JSON.parse(runCli(['list', root, '--json']).stdout)).toHaveLength(1);

    for (let i = 3; i < 8; i++) fs.rmSync(path.join(data, `big${i}.bin`));
    const again = runCli(['take', root]);
    expect(again.code, again.stderr).toBe(0);
    expect(diffTrees(readTree(data), readTree(again.stdout.trim()), { top: false })).toEqual([]);
  });
});

/**
 * .latest on another file system is fine (content is copied into the store); a .snap that is a
 * different file system from the root cannot hold hard links for the dated folders: a clear
 * error, exit 5, nothing written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { isRoot, mountTmpfs, unmount } from '../helpers/mount.js';

const mounts: string[] = [];
afterEach(() => {
  while (mounts.length) unmount(mounts.pop()!);
});

describe.skipIf(!isRoot)('file-system boundaries', () => {
  it('snapshots a .latest that lives on another file system', () => {
    const data = path.join(tempDir(), 'data');
    expect(mountTmpfs(data, '8m')).toBe(true);
    mounts.push(data);
    fs.writeFileSync(path.join(data, 'f'), 'on tmpfs');
    const root = tempDir();
    fs.symlinkSync(data, path.join(root, '.latest'));
    const r = runCli(['take', root]);
    expect(r.code, r.stderr).toBe(0);
    expect(diffTrees(readTree(data), readTree(r.stdout.trim()), { top: false })).toEqual([]);
  });

  it('refuses a store on another file system than the root', () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, '.latest'));
    fs.writeFileSync(path.join(root, '.latest/f'), 'x');
    expect(mountTmpfs(path.join(root, '.snap'), '8m')).toBe(true);
    mounts.push(path.join(root, '.snap'));
    const r = runCli(['take', root]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/snap: .*\.snap is on another file system/);
    expect(fs.readdirSync(path.join(root, '.snap'))).toEqual([]);
  });
});

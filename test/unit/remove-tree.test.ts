// removeTree (src/util/fs.ts): with the native helper it empties each folder relative to its
// descriptor; without, it uses fs.rm. Both delete everything below, follow no symlink, and
// leave what a symlink points to alone.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { loadWithNative } from '../helpers/native-env.js';

const impls: [string, typeof import('../../src/util/fs.js')][] = [
  ['native if built', await loadWithNative('1', () => import('../../src/util/fs.js'))],
  ['fs fallback', await loadWithNative('0', () => import('../../src/util/fs.js'))],
];

describe.each(impls)('removeTree, %s', (_label, { removeTree }) => {
  it('deletes a tree of files, folders, odd names and symlinks, never what a symlink points to', async () => {
    const base = tempDir();
    const outside = path.join(base, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'keep.txt'), 'keep');
    const tree = path.join(base, 'tree');
    let dir = tree;
    for (let depth = 0; depth < 40; depth++) {
      dir = path.join(dir, `d${depth}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'f'), String(depth));
    }
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(tree, `wide-${i}`), '');
    fs.writeFileSync(Buffer.concat([Buffer.from(tree + '/'), Buffer.from([0xff, 0x0a])]), 'odd');
    fs.symlinkSync(outside, path.join(tree, 'to-outside'));
    fs.symlinkSync(path.join(outside, 'keep.txt'), path.join(dir, 'to-file'));
    fs.linkSync(path.join(outside, 'keep.txt'), path.join(tree, 'hard-link'));
    await removeTree(tree);
    expect(fs.existsSync(tree)).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'keep.txt'), 'utf8')).toBe('keep');
    expect(fs.readdirSync(outside)).toEqual(['keep.txt']);
  });

  it('removes a symlink given as the tree, not its target; nothing there is fine', async () => {
    const base = tempDir();
    fs.mkdirSync(path.join(base, 'target'));
    fs.writeFileSync(path.join(base, 'target/x'), 'x');
    fs.symlinkSync(path.join(base, 'target'), path.join(base, 'link'));
    await removeTree(path.join(base, 'link'));
    expect(fs.existsSync(path.join(base, 'link'))).toBe(false);
    expect(fs.readFileSync(path.join(base, 'target/x'), 'utf8')).toBe('x');
    await removeTree(path.join(base, 'missing'));
    fs.writeFileSync(path.join(base, 'file'), '');
    await removeTree(path.join(base, 'file'));
    expect(fs.readdirSync(base)).toEqual(['target']);
  });

  it('deletes read-only folders (snapshots keep their modes)', async () => {
    const base = tempDir();
    const tree = path.join(base, 'tree');
    fs.mkdirSync(path.join(tree, 'a/b'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'a/b/f'), '');
    fs.chmodSync(path.join(tree, 'a/b'), 0o555);
    fs.chmodSync(path.join(tree, 'a'), 0o500);
    await removeTree(tree);
    expect(fs.existsSync(tree)).toBe(false);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { restore } from '../../src/ops/browse/restore.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { objectPath } from '../../src/store/layout.js';
import { nsToUs } from '../../src/model/object-key.js';
import { getSnapshotOrThrow, lookupPath } from '../../src/ops/shared/snapshot-tree.js';
import { SnapError } from '../../src/errors.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';

const asRoot = process.getuid?.() === 0;
const NONUTF8 = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x0a, 0x6e]);

function setMtime(p: string | Buffer, iso: string): void {
  fs.utimesSync(p, new Date(iso), new Date(iso));
}

function populate(latest: string): void {
  fs.mkdirSync(path.join(latest, 'docs/deep'), { recursive: true });
  fs.mkdirSync(path.join(latest, 'empty'));
  fs.mkdirSync(path.join(latest, 'locked'));
  fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(latest, 'docs/deep/big.bin'), Buffer.concat([Buffer.alloc(200_000), Buffer.from('tail')]));
  fs.writeFileSync(path.join(latest, 'locked/secret'), 'shh');
  fs.writeFileSync(Buffer.concat([Buffer.from(latest + '/docs/'), NONUTF8]), 'bytes in the name');
  fs.chmodSync(path.join(latest, 'locked/secret'), 0o400);
  fs.symlinkSync('docs/a.txt', path.join(latest, 'link'));
  fs.symlinkSync('/nowhere', path.join(latest, 'dangling'));
  if (asRoot) fs.chownSync(path.join(latest, 'docs/a.txt'), 1234, 5678);
  setMtime(path.join(latest, 'docs/a.txt'), '2024-03-01T12:34:56.789123Z');
  fs.lutimesSync(path.join(latest, 'link'), new Date('2022-02-02T02:02:02Z'), new Date('2022-02-02T02:02:02Z'));
  fs.chmodSync(path.join(latest, 'locked'), 0o500);
  for (const d of ['docs/deep', 'docs', 'empty', 'locked', '.']) setMtime(path.join(latest, d), '2024-01-01T00:00:00.123456Z');
}

describe('restore', () => {
  it('restores a whole snapshot byte- and metadata-exact, as independent files', async () => {
    const { root, latest } = newRoot();
    populate(latest);
    const before = readTree(latest);
    const t = await take(root);
    const dest = path.join(tempDir(), 'out');
    const r = await restore(root, t.snapshot, { to: dest });
    expect(r.target).toBe(dest);
    expect(r).toMatchObject({ kind: 'dir', files: 4, symlinks: 2, replaced: 0 });
    const got = readTree(dest);
    expect(diffTrees(before, got, { owners: asRoot })).toEqual([]);
    // Independent inodes: never a hard link into the store or the snapshot folder.
    const snapTree = readTree(t.path);
    for (const [k, info] of got) {
      if (info.kind !== 'file') continue;
      expect(info.nlink).toBe(1);
      expect(info.ino).not.toBe(snapTree.get(k)!.ino);
    }
  });

  it('editing a restored file never touches history', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'original');
    const t = await take(root);
    const dest = path.join(tempDir(), 'f');
    await restore(root, t.snapshot, { path: 'f', to: dest });
    fs.chmodSync(dest, 0o644);
    fs.writeFileSync(dest, 'EDITED!!');
    fs.appendFileSync(dest, 'more');
    expect(fs.readFileSync(path.join(t.path, 'f'), 'utf8')).toBe('original');
    const ro = openRoot(root, { readonly: true });
    try {
      const e = lookupPath(ro.catalog, getSnapshotOrThrow(ro.catalog, t.snapshot), [Buffer.from('f')])!;
      const obj = objectPath(ro.layout, { hash: e.hash!, mode: e.mode, uid: e.uid, gid: e.gid, mtimeUs: nsToUs(e.mtimeNs) });
      expect(fs.readFileSync(obj, 'utf8')).toBe('original');
    } finally {
      ro.close();
    }
  });

  it('puts the item inside an existing folder, refuses an existing target, merges with force', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'd'));
    fs.writeFileSync(path.join(latest, 'd/x'), 'from snapshot');
    fs.writeFileSync(path.join(latest, 'd/y'), 'y');
    const t = await take(root);
    const out = tempDir();
    await restore(root, t.snapshot, { path: 'd/x', to: out });
    expect(fs.readFileSync(path.join(out, 'x'), 'utf8')).toBe('from snapshot');
    await expect(restore(root, t.snapshot, { path: 'd/x', to: out })).rejects.toMatchObject({ code: 'EXISTS' });

    // force: a file in the way is replaced, a symlink in the way is replaced, not followed;
    // paths the snapshot lacks stay.
    const victim = path.join(tempDir(), 'victim');
    fs.writeFileSync(victim, 'must stay');
    const d = path.join(out, 'd');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'x'), 'local edit');
    fs.symlinkSync(victim, path.join(d, 'y'));
    fs.writeFileSync(path.join(d, 'mine'), 'keep me');
    await expect(restore(root, t.snapshot, { path: 'd', to: out })).rejects.toMatchObject({ code: 'EXISTS' });
    const r = await restore(root, t.snapshot, { path: 'd', to: out, force: true });
    expect(r.replaced).toBe(2);
    expect(fs.readFileSync(path.join(d, 'x'), 'utf8')).toBe('from snapshot');
    expect(fs.lstatSync(path.join(d, 'y')).isFile()).toBe(true);
    expect(fs.readFileSync(path.join(d, 'y'), 'utf8')).toBe('y');
    expect(fs.readFileSync(victim, 'utf8')).toBe('must stay');
    expect(fs.readFileSync(path.join(d, 'mine'), 'utf8')).toBe('keep me');
    expect(fs.readdirSync(d).filter((n) => n.startsWith('.snap-restore'))).toEqual([]);
  });

  it('with force, a folder where the snapshot has a file stops the restore and is kept', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'x'), 'file');
    const t = await take(root);
    const out = tempDir();
    fs.mkdirSync(path.join(out, 'x'));
    fs.writeFileSync(path.join(out, 'x/inner'), 'mine');
    await expect(restore(root, t.snapshot, { path: 'x', to: out, force: true })).rejects.toThrow(/is a folder/);
    expect(fs.readFileSync(path.join(out, 'x/inner'), 'utf8')).toBe('mine');
  });

  it('fails loudly on a damaged object and leaves nothing half-restored', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'd'));
    fs.writeFileSync(path.join(latest, 'd/a'), 'aaaa');
    fs.writeFileSync(path.join(latest, 'd/b'), 'bbbb');
    const t = await take(root);
    const ro = openRoot(root, { readonly: true });
    const e = lookupPath(ro.catalog, getSnapshotOrThrow(ro.catalog, t.snapshot), [Buffer.from('d'), Buffer.from('b')])!;
    const obj = objectPath(ro.layout, { hash: e.hash!, mode: e.mode, uid: e.uid, gid: e.gid, mtimeUs: nsToUs(e.mtimeNs) });
    ro.close();
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, 'BBBB'); // same size, other bytes: bit rot
    const out = path.join(tempDir(), 'out');
    const err = await restore(root, t.snapshot, { path: 'd', to: out }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(SnapError);
    expect((err as SnapError).code).toBe('CATALOG');
    expect((err as SnapError).message).toMatch(/d\/b is damaged/);
    expect(fs.existsSync(out)).toBe(false);
    // A single file: no file left either.
    const f = path.join(tempDir(), 'b');
    await expect(restore(root, t.snapshot, { path: 'd/b', to: f })).rejects.toThrow(/damaged/);
    expect(fs.existsSync(f)).toBe(false);
    fs.rmSync(obj);
    await expect(restore(root, t.snapshot, { path: 'd/b', to: f })).rejects.toThrow(/missing from the store/);
  });

  it('refuses hostile catalog names without writing outside the target', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'd'));
    fs.writeFileSync(path.join(latest, 'd/a'), 'y');
    const t = await take(root);
    const rw = openRoot(root);
    rw.catalog.db.prepare(`UPDATE entries SET name = ? WHERE name = ?`).run(Buffer.from('../escape'), Buffer.from('a'));
    rw.close();
    const base = tempDir();
    await expect(restore(root, t.snapshot, { to: path.join(base, 'out') })).rejects.toMatchObject({ code: 'UNSAFE_PATH' });
    expect(fs.readdirSync(base)).toEqual([]);
  });

  it('says what to do for an unknown path, snapshot or destination folder', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'y');
    const t = await take(root, { now: steppingClock() });
    await expect(restore(root, t.snapshot, { path: 'nope', to: tempDir() })).rejects.toThrow(/has no nope/);
    await expect(restore(root, '2000-01-01_00.00.00', { to: tempDir() })).rejects.toMatchObject({ code: 'NO_SNAPSHOT' });
    await expect(restore(root, t.snapshot, { path: 'a', to: '/nonexistent/dir/x' })).rejects.toThrow(/does not exist/);
    await expect(restore(root, t.snapshot, { path: '../a', to: tempDir() })).rejects.toThrow(/'\.\.'/);
  });
});

/**
 * `snap materialize`: round trips (delete a folder, rebuild it, compare trees AND inodes), the
 * default set (missing or damaged folders), --all, and --to (links on the same file system,
 * copies on another one or with --copy).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { materialize } from '../../src/ops/verify/materialize.js';
import { verify } from '../../src/ops/verify/verify.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { tempDir } from '../helpers/tmp.js';
import { makeFixture, objectFileOf, snapshotTrees } from '../helpers/verify-fixture.js';

const asRoot = process.getuid?.() === 0;

/** Same tree, and every file the very same inode as before (a link to the same object). */
function expectSameWithInodes(before: ReturnType<typeof readTree>, after: ReturnType<typeof readTree>): void {
  expect(diffTrees(before, after, { owners: asRoot })).toEqual([]);
  for (const [k, info] of before) if (info.kind === 'file') expect(after.get(k)!.ino, k).toBe(info.ino);
}

function shmDir(): string | undefined {
  try {
    const d = fs.mkdtempSync('/dev/shm/linksnap-mat-');
    return fs.statSync(d).dev !== fs.statSync(tempDir()).dev ? d : (fs.rmSync(d, { recursive: true }), undefined);
  } catch {
    return undefined;
  }
}

describe('snap materialize', () => {
  it('rebuilds a deleted dated folder identical to what take made, hard links to the same objects', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    fs.rmSync(path.join(f.root, f.snaps[1]!), { recursive: true });
    const r = await materialize(f.root);
    expect(r.snapshots.map((s) => s.name)).toEqual([f.snaps[1]]);
    expect(r.snapshots[0]).toMatchObject({ files: 6, linked: 6, copied: 0, symlinks: 1, dirs: 4 });
    for (const s of f.snaps) expectSameWithInodes(before.get(s)!, readTree(path.join(f.root, s)));
    expect((await verify(f.root)).damaged).toBe(false);
    expect(fs.readdirSync(path.join(f.root, '.snap/staging'))).toEqual([]);
    expect(fs.readdirSync(path.join(f.root, '.snap/trash'))).toEqual([]);
  });

  it('by default rebuilds only missing or damaged folders; --all and names rebuild those', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    fs.writeFileSync(path.join(f.root, f.snaps[2]!, 'intruder'), 'x');
    const keepIno = fs.statSync(path.join(f.root, f.snaps[0]!)).ino;
    const r = await materialize(f.root);
    expect(r.snapshots.map((s) => s.name)).toEqual([f.snaps[2]]);
    expect(fs.statSync(path.join(f.root, f.snaps[0]!)).ino).toBe(keepIno); // untouched
    expect((await materialize(f.root)).snapshots).toEqual([]);
    const named = await materialize(f.root, { snapshots: [f.snaps[0]!] });
    expect(named.snapshots.map((s) => s.name)).toEqual([f.snaps[0]]);
    const all = await materialize(f.root, { all: true });
    expect(all.snapshots.map((s) => s.name)).toEqual(f.snaps);
    for (const s of f.snaps) expectSameWithInodes(before.get(s)!, readTree(path.join(f.root, s)));
    await expect(materialize(f.root, { snapshots: ['1999-01-01_00.00.00'] })).rejects.toThrow(/no snapshot named/);
  });

  it('--to builds a snapshot elsewhere on the same file system with hard links', async () => {
    const f = await makeFixture();
    const dest = path.join(tempDir(), 'restore');
    const r = await materialize(f.root, { snapshots: [f.snaps[0]!], to: dest });
    expect(r.to).toBe(dest);
    expect(r.snapshots[0]).toMatchObject({ name: f.snaps[0], linked: 6, copied: 0 });
    expectSameWithInodes(readTree(path.join(f.root, f.snaps[0]!)), readTree(dest));
    // the default is the newest snapshot; an empty existing folder is fine, a non-empty one is not
    const empty = tempDir();
    const n = await materialize(f.root, { to: empty });
    expect(n.snapshots[0]!.name).toBe(f.snaps[2]);
    await expect(materialize(f.root, { to: dest })).rejects.toThrow(/not empty/);
    await expect(materialize(f.root, { to: path.join(f.root, '.snap/x') })).rejects.toThrow(/store/);
    await expect(materialize(f.root, { to: path.join(f.latest, 'x') })).rejects.toThrow(/\.latest/);
  });

  it('--copy (or another file system) makes independent copies with the recorded metadata', async () => {
    const f = await makeFixture();
    const snap = path.join(f.root, f.snaps[1]!);
    const dest = path.join(tempDir(), 'copy');
    const r = await materialize(f.root, { snapshots: [f.snaps[1]!], to: dest, copy: true });
    expect(r.snapshots[0]).toMatchObject({ linked: 0, copied: 6 });
    expect(diffTrees(readTree(snap), readTree(dest), { owners: asRoot })).toEqual([]);
    expect(fs.statSync(path.join(dest, 'shared.txt')).ino).not.toBe(fs.statSync(objectFileOf(f.root, f.snaps[1]!, 'shared.txt')).ino);
    fs.writeFileSync(path.join(dest, 'shared.txt'), 'edited'); // safe: the store is not touched
    expect((await verify(f.root)).damaged).toBe(false);

    const shm = shmDir();
    if (shm) {
      try {
        const other = path.join(shm, 'restore');
        const x = await materialize(f.root, { snapshots: [f.snaps[1]!], to: other });
        expect(x.snapshots[0]).toMatchObject({ linked: 0, copied: 6 }); // EXDEV: copies
        expect(diffTrees(readTree(snap), readTree(other), { owners: asRoot })).toEqual([]);
      } finally {
        fs.rmSync(shm, { recursive: true, force: true });
      }
    }
  });

  it('refuses --to with several snapshots or --all, and --all with names', async () => {
    const f = await makeFixture();
    await expect(materialize(f.root, { snapshots: f.snaps.slice(0, 2), to: tempDir() })).rejects.toThrow(/one snapshot/);
    await expect(materialize(f.root, { all: true, to: tempDir() })).rejects.toThrow(/--all/);
    await expect(materialize(f.root, { all: true, snapshots: [f.snaps[0]!] })).rejects.toThrow(/exclude/);
  });
});

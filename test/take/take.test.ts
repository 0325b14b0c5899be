import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { verify } from '../../src/ops/verify/verify.js';
import { pathLog } from '../../src/ops/browse/log.js';
import { buildExcludes } from '../../src/ops/take/excludes.js';
import { openRoot, lockRoot } from '../../src/ops/shared/root.js';
import { SnapError } from '../../src/errors.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';

const asRoot = process.getuid?.() === 0;
const NONUTF8 = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x0a, 0x6e]); // "bad\xff\xfe\nn"

function setMtime(p: string | Buffer, iso: string): void {
  const t = new Date(iso);
  fs.utimesSync(p, t, t);
}

/** A tree exercising everything rsync -a keeps. Old mtimes so the quick check trusts them. */
function populate(latest: string): void {
  fs.mkdirSync(path.join(latest, 'docs/deep/er'), { recursive: true });
  fs.mkdirSync(path.join(latest, 'empty'));
  fs.mkdirSync(path.join(latest, 'locked'));
  fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(latest, 'docs/deep/er/b.bin'), Buffer.alloc(70_000, 7));
  fs.writeFileSync(path.join(latest, 'locked/secret'), 'shh');
  fs.writeFileSync(Buffer.concat([Buffer.from(latest + '/'), NONUTF8]), 'bytes in the name');
  fs.writeFileSync(path.join(latest, 'script.sh'), '#!/bin/sh\n');
  fs.chmodSync(path.join(latest, 'script.sh'), 0o755);
  fs.chmodSync(path.join(latest, 'locked/secret'), 0o400);
  fs.symlinkSync('docs/a.txt', path.join(latest, 'link'));
  fs.symlinkSync('/nowhere/at/all', path.join(latest, 'dangling'));
  for (const p of ['docs/a.txt', 'docs/deep/er/b.bin', 'locked/secret', 'script.sh']) setMtime(path.join(latest, p), '2024-03-01T12:34:56.789Z');
  setMtime(Buffer.concat([Buffer.from(latest + '/'), NONUTF8]), '2023-01-01T00:00:00Z');
  fs.lutimesSync(path.join(latest, 'link'), new Date('2022-02-02T02:02:02Z'), new Date('2022-02-02T02:02:02Z'));
  fs.chmodSync(path.join(latest, 'locked'), 0o500);
  for (const d of ['docs/deep/er', 'docs/deep', 'docs', 'empty', 'locked', '.']) setMtime(path.join(latest, d), '2024-01-01T00:00:00.123456Z');
}

describe('snap take', () => {
  it('makes a dated folder equal to the source, as rsync -a would', async () => {
    const { root, latest } = newRoot();
    populate(latest);
    const before = readTree(latest);
    const r = await take(root);
    expect(path.basename(r.path)).toMatch(/^\d{4}-\d\d-\d\d_\d\d\.\d\d\.\d\d$/);
    expect(diffTrees(before, readTree(r.path), { owners: asRoot })).toEqual([]);
    // linksnap never writes into .latest, and never links its live files
    const after = readTree(latest);
    expect(diffTrees(before, after)).toEqual([]);
    for (const [k, info] of readTree(r.path)) {
      if (info.kind === 'file') expect(info.ino).not.toBe(after.get(k)!.ino);
    }
    expect(r.files).toBe(5);
    expect(r.warningCount).toBe(0);
  });

  it('keeps history: old snapshots keep old content after the source changes', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    fs.writeFileSync(path.join(latest, 'f'), 'v1');
    const s1 = await take(root, { now });
    fs.writeFileSync(path.join(latest, 'f'), 'v2-longer');
    const s2 = await take(root, { now });
    fs.rmSync(path.join(latest, 'f'));
    const s3 = await take(root, { now, allowShrink: true }); // the source is empty now
    expect(fs.readFileSync(path.join(s1.path, 'f'), 'utf8')).toBe('v1');
    expect(fs.readFileSync(path.join(s2.path, 'f'), 'utf8')).toBe('v2-longer');
    expect(fs.existsSync(path.join(s3.path, 'f'))).toBe(false);
  });

  it('shares one inode per (content, metadata) across paths and snapshots', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    for (const n of ['a', 'b', 'c']) {
      fs.writeFileSync(path.join(latest, n), 'same bytes');
      setMtime(path.join(latest, n), '2024-05-05T05:05:05Z');
    }
    setMtime(path.join(latest, 'c'), '2024-06-06T06:06:06Z'); // same content, other mtime
    const s1 = await take(root, { now });
    const ino = (p: string) => fs.statSync(p).ino;
    expect(ino(path.join(s1.path, 'a'))).toBe(ino(path.join(s1.path, 'b')));
    expect(ino(path.join(s1.path, 'c'))).not.toBe(ino(path.join(s1.path, 'a')));
    expect(fs.statSync(path.join(s1.path, 'c')).mtime.toISOString()).toBe('2024-06-06T06:06:06.000Z');
    // A rename and a copy (with its metadata) cost nothing new.
    fs.renameSync(path.join(latest, 'a'), path.join(latest, 'renamed'));
    fs.copyFileSync(path.join(latest, 'b'), path.join(latest, 'copied'));
    setMtime(path.join(latest, 'copied'), '2024-05-05T05:05:05Z');
    const s2 = await take(root, { now });
    expect(s2.newObjects).toBe(0);
    expect(s2.newBytes).toBe(0);
    expect(ino(path.join(s2.path, 'renamed'))).toBe(ino(path.join(s1.path, 'a')));
    expect(ino(path.join(s2.path, 'copied'))).toBe(ino(path.join(s1.path, 'a')));
  });

  it('reuses hashes of unchanged files, but notices same-size rewrites with the old mtime', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    const f = path.join(latest, 'f');
    fs.writeFileSync(f, 'aaaa');
    fs.writeFileSync(path.join(latest, 'g'), 'gggg');
    setMtime(f, '2024-01-01T00:00:00Z');
    setMtime(path.join(latest, 'g'), '2024-01-01T00:00:00Z');
    const s1 = await take(root, { now, racyWindowMs: 0 });
    expect(s1.hashedFiles).toBe(2);
    const s2 = await take(root, { now, racyWindowMs: 0 });
    expect(s2.hashedFiles).toBe(0);
    // Same size, mtime put back: only ctime tells. The quick check must not be fooled.
    fs.writeFileSync(f, 'bbbb');
    setMtime(f, '2024-01-01T00:00:00Z');
    const s3 = await take(root, { now, racyWindowMs: 0 });
    expect(s3.hashedFiles).toBe(1);
    expect(fs.readFileSync(path.join(s3.path, 'f'), 'utf8')).toBe('bbbb');
    expect(fs.readFileSync(path.join(s1.path, 'f'), 'utf8')).toBe('aaaa');
    const s4 = await take(root, { now, checksum: true });
    expect(s4.hashedFiles).toBe(2);
  });

  it('does not trust the cache for files modified just before the take (racy clean)', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    fs.writeFileSync(path.join(latest, 'fresh'), 'x'); // mtime = now: inside the racy window
    await take(root, { now });
    const s2 = await take(root, { now });
    expect(s2.hashedFiles).toBe(1);
  });

  describe('reusing an unchanged folder\'s tree from its quick-check records', () => {
    // The folders on disk are right whatever the catalog says; these check the catalog too
    // (verify compares every dated folder with its manifest).
    async function clean(root: string): Promise<void> {
      const v = await verify(root, { quick: true });
      expect(v.findings.filter((f) => f.severity === 'damage')).toEqual([]);
    }

    it('rebuilds a folder whose only record was missing (too new to trust), after the file goes', async () => {
      const { root, latest } = newRoot();
      const now = steppingClock();
      fs.mkdirSync(path.join(latest, 'd'));
      fs.writeFileSync(path.join(latest, 'd/old'), 'o');
      fs.writeFileSync(path.join(latest, 'd/new'), 'n');
      setMtime(path.join(latest, 'd/old'), '2024-01-01T00:00:00Z');
      await take(root, { now, racyWindowMs: 0 });
      fs.writeFileSync(path.join(latest, 'd/new'), 'N2'); // ctime now: no record this time
      await take(root, { now });
      fs.rmSync(path.join(latest, 'd/new'));
      const s3 = await take(root, { now, allowShrink: true }); // 2 of the 3 bytes are gone
      expect(fs.readdirSync(path.join(s3.path, 'd'))).toEqual(['old']);
      await clean(root);
      expect(pathLog(root, 'd/new').events.at(-1)).toMatchObject({ snapshot: s3.snapshot, event: 'disappeared' });
    });

    it('notices a vanished subfolder, a folder turned into a file, and new names', async () => {
      const { root, latest } = newRoot();
      const now = steppingClock();
      fs.mkdirSync(path.join(latest, 'a/b'), { recursive: true });
      fs.mkdirSync(path.join(latest, 'c'));
      fs.writeFileSync(path.join(latest, 'a/b/f'), 'f');
      fs.writeFileSync(path.join(latest, 'c/g'), 'g');
      await take(root, { now, racyWindowMs: 0 });
      const s2 = await take(root, { now, racyWindowMs: 0 });
      expect(s2.hashedFiles).toBe(0);
      fs.rmSync(path.join(latest, 'a/b'), { recursive: true });
      fs.rmSync(path.join(latest, 'c'), { recursive: true });
      fs.writeFileSync(path.join(latest, 'c'), 'now a file');
      fs.writeFileSync(path.join(latest, 'a/h'), 'h');
      const s3 = await take(root, { now, racyWindowMs: 0 });
      expect(diffTrees(readTree(latest), readTree(s3.path))).toEqual([]);
      await clean(root);
      // And back: the old records of a/b and c must not be trusted for the new folders.
      fs.mkdirSync(path.join(latest, 'a/b'));
      fs.writeFileSync(path.join(latest, 'a/b/f'), 'other');
      fs.rmSync(path.join(latest, 'c'));
      fs.mkdirSync(path.join(latest, 'c'));
      const s4 = await take(root, { now, racyWindowMs: 0 });
      expect(diffTrees(readTree(latest), readTree(s4.path))).toEqual([]);
      await clean(root);
    });

    it('trusts the records only under the exclude rules they were written with', async () => {
      const { root, latest } = newRoot();
      const now = steppingClock();
      fs.writeFileSync(path.join(latest, 'keep.txt'), 'k');
      fs.writeFileSync(path.join(latest, 'drop.log'), 'd');
      await take(root, { now, racyWindowMs: 0 });
      const m = buildExcludes(root, { patterns: ['*.log'] });
      const s2 = await take(root, { now, racyWindowMs: 0, exclude: Object.assign(m.exclude, { key: m.key }) });
      expect(fs.readdirSync(s2.path)).toEqual(['keep.txt']);
      await clean(root);
      const s3 = await take(root, { now, racyWindowMs: 0 });
      expect(fs.readdirSync(s3.path).sort()).toEqual(['drop.log', 'keep.txt']);
      await clean(root);
    });
  });

  it('rotates: keeps exactly the newest --keep snapshots and frees their blobs', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      fs.writeFileSync(path.join(latest, 'f'), `version ${i}`);
      names.push((await take(root, { now, keep: 3 })).snapshot);
    }
    expect(listSnapshots(root).map((s) => s.name)).toEqual(names.slice(-3));
    const dated = fs.readdirSync(root).filter((n) => /^\d{4}-/.test(n));
    expect(dated.sort()).toEqual(names.slice(-3).sort());
    const objects = fs.readdirSync(path.join(root, '.snap/objects')).flatMap((d) => fs.readdirSync(path.join(root, '.snap/objects', d)));
    expect(objects.length).toBe(3);
    expect(fs.readdirSync(path.join(root, '.snap/trash'))).toEqual([]);
  });

  it('never touches dated folders it did not make (e.g. the seed script’s)', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(root, '2001-01-01_00.00.00'));
    fs.writeFileSync(path.join(root, '2001-01-01_00.00.00/old'), 'seed era');
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const now = steppingClock();
    for (let i = 0; i < 3; i++) await take(root, { now, keep: 1 });
    expect(fs.readFileSync(path.join(root, '2001-01-01_00.00.00/old'), 'utf8')).toBe('seed era');
  });

  it('gives two takes in the same second distinct names in creation order', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const fixed = new Date('2026-02-02T10:00:00');
    let calls = 0;
    // The clock is stuck on one second for the first few readings, then moves on.
    const now = () => new Date(fixed.getTime() + (calls++ > 2 ? 1000 : 0));
    const a = await take(root, { now });
    const b = await take(root, { now });
    expect(a.snapshot).not.toBe(b.snapshot);
    expect([a.snapshot, b.snapshot].sort()).toEqual([a.snapshot, b.snapshot]);
  });

  it('refuses a missing or wrong .latest with the seed’s hints, creating nothing', async () => {
    const root = tempDir();
    await expect(take(root)).rejects.toMatchObject({ code: 'NO_LATEST', hint: expect.stringContaining('ln -s') });
    fs.writeFileSync(path.join(root, '.latest'), 'a file');
    await expect(take(root)).rejects.toMatchObject({ code: 'NO_LATEST', message: expect.stringContaining('not a directory') });
    fs.rmSync(path.join(root, '.latest'));
    fs.symlinkSync('/does/not/exist', path.join(root, '.latest'));
    await expect(take(root)).rejects.toMatchObject({ code: 'NO_LATEST', message: expect.stringContaining('symlink') });
    expect(fs.existsSync(path.join(root, '.snap'))).toBe(false);
    await expect(take(path.join(root, 'nope'))).rejects.toMatchObject({ code: 'BAD_ROOT' });
    await expect(take(root, { keep: 0 })).rejects.toBeInstanceOf(SnapError);
  });

  it('follows a .latest symlink to the data and refuses one that contains the root', async () => {
    const data = tempDir();
    fs.writeFileSync(path.join(data, 'x'), 'data');
    const root = tempDir();
    fs.symlinkSync(data, path.join(root, '.latest'));
    const r = await take(root);
    expect(fs.readFileSync(path.join(r.path, 'x'), 'utf8')).toBe('data');
    const outer = tempDir();
    fs.mkdirSync(path.join(outer, 'backups'));
    fs.symlinkSync(outer, path.join(outer, 'backups/.latest'));
    await expect(take(path.join(outer, 'backups'))).rejects.toMatchObject({ code: 'NO_LATEST', message: expect.stringContaining('contains the backup root') });
  });

  it('refuses to run while another run holds the lock', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    await take(root);
    const held = openRoot(root);
    const lock = lockRoot(held, 'test');
    try {
      await expect(take(root, { waitMs: 100 })).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringContaining(`pid ${process.pid}`) });
    } finally {
      lock.release();
      held.close();
    }
    await take(root, { waitMs: 100 });
  });

  it('skips unreadable paths with warnings and still completes (non-root only)', async () => {
    if (asRoot) return; // root reads everything; test/fault covers this as a non-root user
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'ok'), 'fine');
    fs.writeFileSync(path.join(latest, 'nope'), 'secret');
    fs.chmodSync(path.join(latest, 'nope'), 0);
    const r = await take(root);
    expect(r.warnings.map((w) => w.path)).toEqual(['nope']);
  });

  it('stores sparse files sparsely', async () => {
    const { root, latest } = newRoot();
    const f = path.join(latest, 'sparse');
    const fd = fs.openSync(f, 'w');
    fs.writeSync(fd, 'head', 0);
    fs.writeSync(fd, 'tail', 200 * 1024 * 1024);
    fs.closeSync(fd);
    const r = await take(root);
    const st = fs.statSync(path.join(r.path, 'sparse'));
    expect(st.size).toBe(200 * 1024 * 1024 + 4);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024);
  });
});

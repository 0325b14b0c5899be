/**
 * Damage made through one dated folder must not spread into new snapshots. Snapshot files are
 * hard links to the store's objects, so an in-place edit through any dated folder changes the
 * object itself; before a take links a new snapshot to an existing object it checks the object
 * still is what its name says (size and metadata always, content too with --checksum), stores a
 * correct copy from the source when it is not, warns (exit 3) naming the older snapshots that
 * hold the damaged copy, and `verify --repair` heals those from the new good object.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { storeProblems } from '../helpers/store-check.js';

const env = { LINKSNAP_NO_SYNC: '1' };

function takeCli(root: string, ...args: string[]) {
  return runCli(['take', root, '--json', ...args], { env });
}

function snapshotOf(r: { stdout: string }): { snapshot: string; path: string; warnings: { kind: string; path: string; message: string }[] } {
  return JSON.parse(r.stdout);
}

describe('damage through a dated folder', () => {
  it('a new file whose content the store has, damaged, gets a fresh object (ingest path)', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'one.txt'), 'shared content\n');
    const first = await take(root, { racyWindowMs: 0 });
    fs.appendFileSync(path.join(first.path, 'one.txt'), 'x\n');
    // A new path with the same content and metadata names the same (now damaged) object.
    expect(spawnSync('cp', ['-p', path.join(latest, 'one.txt'), path.join(latest, 'two.txt')]).status).toBe(0);
    fs.rmSync(path.join(latest, 'one.txt'));
    const r = takeCli(root);
    expect(r.code).toBe(3);
    const second = snapshotOf(r);
    expect(fs.readFileSync(path.join(second.path, 'two.txt'), 'utf8')).toBe('shared content\n');
    expect(second.warnings.find((x) => x.kind === 'damaged')!.message).toContain(`${first.snapshot}/one.txt`);
    expect(runCli(['verify', root, '--repair'], { env }).code).toBe(0);
    expect(runCli(['verify', root], { env }).code).toBe(0);
  });

  it('an append through an old snapshot never reaches the next one (size and mtime checked)', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'doc.txt'), 'the original\n');
    fs.mkdirSync(path.join(latest, 'sub'));
    // Same content, other metadata: another object, which the damage must not touch. The mtime is
    // set apart explicitly, as two files written in one clock tick would share an object.
    fs.writeFileSync(path.join(latest, 'sub', 'same.txt'), 'the original\n');
    fs.utimesSync(path.join(latest, 'sub', 'same.txt'), new Date(2020, 0, 1), new Date(2020, 0, 1));
    // Records for every file (no racy window), so the next take's scan worker links from them.
    const first = await take(root, { racyWindowMs: 0 });
    fs.appendFileSync(path.join(first.path, 'doc.txt'), 'x\n'); // through the hard link: the object changes

    const r = takeCli(root);
    expect(r.code).toBe(3);
    const second = snapshotOf(r);
    expect(fs.readFileSync(path.join(second.path, 'doc.txt'), 'utf8')).toBe('the original\n');
    const damaged = second.warnings.filter((x) => x.kind === 'damaged');
    expect(damaged.map((x) => x.path)).toEqual(['doc.txt']);
    const w = damaged[0]!;
    expect(fs.readFileSync(path.join(second.path, 'sub', 'same.txt'), 'utf8')).toBe('the original\n');
    expect(w.message).toContain(`${first.snapshot}/doc.txt`);
    // The damaged inode was moved aside, not reused: the new snapshot has another inode.
    expect(fs.statSync(path.join(second.path, 'doc.txt')).ino).not.toBe(fs.statSync(path.join(first.path, 'doc.txt')).ino);

    const v = runCli(['verify', root], { env });
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(first.snapshot);
    expect(v.stdout).toContain('entry-replaced: doc.txt');
    expect(runCli(['verify', root, '--repair'], { env }).code).toBe(0);
    expect(fs.readFileSync(path.join(first.path, 'doc.txt'), 'utf8')).toBe('the original\n');
    expect(runCli(['verify', root], { env }).code).toBe(0);
    expect(storeProblems(root)).toEqual([]);
  });

  it('a same-size overwrite with the mtime put back is caught by --checksum, for the file and a copy of it', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a.txt'), 'AAAAAAAAAA');
    const first = await take(root, { racyWindowMs: 0 });
    const target = path.join(first.path, 'a.txt');
    const fd = fs.openSync(target, 'r+');
    fs.writeSync(fd, 'BB', 3);
    fs.closeSync(fd);
    expect(spawnSync('touch', ['-r', path.join(latest, 'a.txt'), target]).status).toBe(0);
    expect(spawnSync('cp', ['-p', path.join(latest, 'a.txt'), path.join(latest, 'b.txt')]).status).toBe(0);

    const r = takeCli(root, '--checksum');
    expect(r.code).toBe(3);
    const second = snapshotOf(r);
    expect(fs.readFileSync(path.join(second.path, 'a.txt'), 'utf8')).toBe('AAAAAAAAAA');
    expect(fs.readFileSync(path.join(second.path, 'b.txt'), 'utf8')).toBe('AAAAAAAAAA');
    expect(second.warnings.filter((x) => x.kind === 'damaged')).toHaveLength(1);
    expect(second.warnings[0]!.message).toContain(`${first.snapshot}/a.txt`);

    expect(runCli(['verify', root, '--repair'], { env }).code).toBe(0);
    expect(fs.readFileSync(target, 'utf8')).toBe('AAAAAAAAAA');
    expect(runCli(['verify', root], { env }).code).toBe(0);
  });

  it('a large file damaged through a snapshot is stored again from the source (main-thread path)', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'big.bin'), Buffer.alloc(3 << 20, 7));
    const first = await take(root, { racyWindowMs: 0 });
    fs.truncateSync(path.join(first.path, 'big.bin'), 1 << 20);
    const r = takeCli(root);
    expect(r.code).toBe(3);
    const second = snapshotOf(r);
    expect(fs.statSync(path.join(second.path, 'big.bin')).size).toBe(3 << 20);
    expect(second.warnings.map((w) => w.kind)).toEqual(['damaged']);
    expect(runCli(['verify', root, '--repair'], { env }).code).toBe(0);
    expect(fs.statSync(path.join(first.path, 'big.bin')).size).toBe(3 << 20);
  });
});

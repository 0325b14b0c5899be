/**
 * `verify --repair`: each repairable kind of damage is repaired and the store verifies clean
 * again, with every snapshot folder back to what take made (content, metadata and inodes); an
 * unrepairable blob is reported with its paths and nothing else changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verify, type VerifyReport } from '../../src/ops/verify/verify.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { editInPlace, fullState, makeFixture, objectFileOf, snapshotTrees, type Fixture } from '../helpers/verify-fixture.js';

const asRoot = process.getuid?.() === 0;

/** Every snapshot equals what it was (content and metadata), and files are links to their objects. */
function expectRestored(f: Fixture, before: ReturnType<typeof snapshotTrees>): void {
  for (const s of f.snaps) {
    const now = readTree(path.join(f.root, s));
    expect(diffTrees(before.get(s)!, now, { owners: asRoot }), s).toEqual([]);
  }
}

async function repairAndCheck(f: Fixture, kinds: string[]): Promise<VerifyReport> {
  const r = await verify(f.root, { repair: true });
  const dmg = r.findings.filter((x) => x.severity === 'damage');
  expect(dmg.map((x) => x.kind).sort()).toEqual([...kinds].sort());
  expect(dmg.every((x) => x.repaired === true), JSON.stringify(dmg, null, 1)).toBe(true);
  expect(r.damaged).toBe(false);
  const again = await verify(f.root);
  expect(again.findings.filter((x) => x.severity === 'damage')).toEqual([]);
  return r;
}

function ino(p: string): number {
  return fs.statSync(p).ino;
}

describe('snap verify --repair', () => {
  it('heals a blob edited in place from .latest and re-links every path that shared it', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    const obj = objectFileOf(f.root, f.snaps[0]!, 'docs/a.txt');
    editInPlace(path.join(f.root, f.snaps[2]!, 'copy/a.txt'), 'ALPHA');
    await repairAndCheck(f, ['object-content']);
    expectRestored(f, before);
    for (const s of f.snaps) {
      expect(ino(path.join(f.root, s, 'docs/a.txt'))).toBe(ino(obj));
      expect(ino(path.join(f.root, s, 'copy/a.txt'))).toBe(ino(obj));
    }
  });

  it('heals from another object with the same content when .latest has moved on', async () => {
    const f = await makeFixture();
    // a touch in .latest: the next take stores the same bytes as a second object (other mtime)
    fs.utimesSync(path.join(f.latest, 'shared.txt'), new Date('2025-01-01'), new Date('2025-01-01'));
    const { take } = await import('../../src/ops/take/take.js');
    const t = await take(f.root, { now: () => new Date('2027-01-01T00:00:00') });
    f.snaps.push(t.snapshot);
    fs.writeFileSync(path.join(f.latest, 'shared.txt'), 'gone from the source');
    const before = snapshotTrees(f);
    const obj = objectFileOf(f.root, f.snaps[0]!, 'shared.txt');
    editInPlace(obj, 'SHARED');
    const r = await repairAndCheck(f, ['object-content']);
    expect(r.findings[0]!.snapshots).toHaveLength(3);
    expectRestored(f, before);
  });

  it('restores an object inode’s metadata in place after a chmod through a link (same inode)', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    const p = path.join(f.root, f.snaps[1]!, 'shared.txt');
    const inode = ino(p);
    fs.chmodSync(p, 0o600);
    fs.utimesSync(p, new Date('2030-01-01'), new Date('2030-01-01'));
    await repairAndCheck(f, ['object-metadata']);
    expectRestored(f, before);
    expect(ino(p)).toBe(inode); // nothing that was right is rewritten
  });

  it('re-creates a missing object from the snapshot files that still hold its inode', async () => {
    const f = await makeFixture();
    fs.rmSync(path.join(f.latest, 'docs/deep/big.bin')); // not in .latest any more
    const before = snapshotTrees(f);
    const obj = objectFileOf(f.root, f.snaps[0]!, 'docs/deep/big.bin');
    fs.rmSync(obj);
    await repairAndCheck(f, ['object-missing']);
    expectRestored(f, before);
    for (const s of f.snaps) expect(ino(path.join(f.root, s, 'docs/deep/big.bin'))).toBe(ino(obj));
  });

  it('replaces an object that became a symlink, and one truncated', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    const ch = objectFileOf(f.root, f.snaps[1]!, 'change.txt');
    fs.rmSync(ch);
    fs.symlinkSync('/etc/hostname', ch);
    fs.truncateSync(objectFileOf(f.root, f.snaps[0]!, 'docs/deep/big.bin'), 5);
    await repairAndCheck(f, ['object-not-regular', 'object-size']);
    expectRestored(f, before);
    expect(fs.lstatSync(ch).isFile()).toBe(true);
  });

  it('rebuilds a deleted dated folder and one with structural damage', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    fs.rmSync(path.join(f.root, f.snaps[0]!), { recursive: true });
    const s = path.join(f.root, f.snaps[1]!);
    fs.rmSync(path.join(s, 'change.txt'));
    fs.writeFileSync(path.join(s, 'docs/intruder'), 'x');
    fs.rmSync(path.join(s, 'link'));
    fs.symlinkSync('/etc', path.join(s, 'link'));
    fs.chmodSync(path.join(s, 'empty'), 0o700);
    const r = await verify(f.root, { repair: true });
    expect(r.damaged).toBe(false);
    expect(r.counts.repaired).toBeGreaterThanOrEqual(5);
    expect((await verify(f.root)).findings.filter((x) => x.severity === 'damage')).toEqual([]);
    expectRestored(f, before);
    const obj = objectFileOf(f.root, f.snaps[0]!, 'docs/a.txt');
    expect(ino(path.join(f.root, f.snaps[0]!, 'docs/a.txt'))).toBe(ino(obj));
    expect(fs.readdirSync(path.join(f.root, '.snap/trash'))).toEqual([]); // emptied after unlocking
  });

  it('re-links a file replaced by a copy in place, keeping its folder’s mtime, without a rebuild', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    const s = path.join(f.root, f.snaps[2]!);
    const dirIno = ino(path.join(s, 'docs'));
    const dirSt = fs.statSync(path.join(s, 'docs'));
    const p = path.join(s, 'docs/a.txt');
    fs.copyFileSync(p, p + '.tmp');
    fs.renameSync(p + '.tmp', p); // what many editors do: same bytes, new inode
    fs.utimesSync(path.join(s, 'docs'), dirSt.atime, dirSt.mtime); // only the inode differs
    fs.utimesSync(p, dirSt.atime, new Date('2024-03-01T12:34:56.789Z'));
    await repairAndCheck(f, ['entry-replaced']);
    expectRestored(f, before);
    expect(ino(p)).toBe(ino(objectFileOf(f.root, f.snaps[2]!, 'docs/a.txt')));
    expect(ino(path.join(s, 'docs'))).toBe(dirIno); // the folder was not rebuilt
  });

  it('reports a blob with no intact copy anywhere, names the lost paths, and changes nothing else', async () => {
    const f = await makeFixture();
    // same size, other bytes: only checking the candidate's hash tells it is no copy
    fs.writeFileSync(path.join(f.latest, 'shared.txt'), 'SHARED BY ALL\n');
    const obj = objectFileOf(f.root, f.snaps[0]!, 'shared.txt');
    editInPlace(obj, 'SHARED');
    // The lock and the catalog files (and so .snap's own mtime) change with any locked run, and
    // the scratch folder .snap/tmp's mtime when a candidate copy is tried and thrown away.
    const skip = (rel: string) => /^\.snap\/(catalog\.db|lock\.)/.test(rel);
    const look = () => fullState(f.root, skip).filter((l) => !l.startsWith('.snap ') && !l.startsWith('.snap/tmp '));
    const state = look();
    const r = await verify(f.root, { repair: true });
    expect(r.damaged).toBe(true);
    const x = r.findings.find((y) => y.kind === 'object-content')!;
    expect(x.repaired).toBe(false);
    expect(x.paths.sort()).toEqual(f.snaps.map((s) => `${s}/shared.txt`).sort());
    expect(x.repairNote).toMatch(/no intact copy/);
    for (const s of f.snaps) expect(x.repairNote).toContain(`${s}/shared.txt`);
    expect(look()).toEqual(state);
  });

  it('repairs only the named snapshot when given one', async () => {
    const f = await makeFixture();
    fs.rmSync(path.join(f.root, f.snaps[0]!, 'change.txt'));
    fs.rmSync(path.join(f.root, f.snaps[1]!, 'change.txt'));
    const r = await verify(f.root, { repair: true, snapshots: [f.snaps[0]!] });
    expect(r.damaged).toBe(false);
    expect(fs.existsSync(path.join(f.root, f.snaps[0]!, 'change.txt'))).toBe(true);
    expect(fs.existsSync(path.join(f.root, f.snaps[1]!, 'change.txt'))).toBe(false);
  });
});

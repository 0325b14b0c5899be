/**
 * Repair and in-place rebuilds never destroy what someone put into a dated folder: paths the
 * manifest does not have, and files replaced at a manifest path by other content, are moved
 * into .snap/lost+found/<snapshot>/<run>/<path> (symlinks as symlinks, never followed), the
 * report says where each went, and lost+found survives gc, recovery and the trash emptying.
 * A stray copy of the object's own content is not "someone's file": it is not kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { verify } from '../../src/ops/verify/verify.js';
import { materialize } from '../../src/ops/verify/materialize.js';
import { take } from '../../src/ops/take/take.js';
import { LostFound } from '../../src/ops/shared/lost-found.js';
import { layoutFor } from '../../src/store/layout.js';
import { CLI, runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { isRoot } from '../helpers/mount.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { fullState, makeFixture, objectFileOf, snapshotTrees, type Fixture } from '../helpers/verify-fixture.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };
const asRoot = process.getuid?.() === 0;

/** The one run folder of `snap` in lost+found (there must be exactly one). */
function runFolder(root: string, snap: string): string {
  const dir = path.join(root, '.snap/lost+found', snap);
  const runs = fs.readdirSync(dir);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatch(/^\d{4}-\d{2}-\d{2}_\d{2}\.\d{2}\.\d{2}$/);
  return path.join(dir, runs[0]!);
}

function expectSnapshotsIntact(f: Fixture, before: ReturnType<typeof snapshotTrees>): void {
  for (const s of f.snaps) expect(diffTrees(before.get(s)!, readTree(path.join(f.root, s)), { owners: asRoot }), s).toEqual([]);
}

describe('lost+found: repair keeps what was not the snapshot’s', () => {
  it('a rebuild moves extra files, folders and symlinks and a replaced file into lost+found, and says where', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    const outside = tempDir('linksnap-outside-');
    fs.writeFileSync(path.join(outside, 'target.txt'), 'must stay untouched');
    const outsideState = fullState(outside);
    const s = f.snaps[1]!;
    const dated = path.join(f.root, s);
    fs.writeFileSync(path.join(dated, 'docs/mine.txt'), 'saved into a backup by a user');
    fs.mkdirSync(path.join(dated, 'notes/sub'), { recursive: true });
    fs.writeFileSync(path.join(dated, 'notes/sub/n.txt'), 'notes');
    fs.symlinkSync(outside, path.join(dated, 'escape')); // a symlink to a folder outside: never entered
    fs.rmSync(path.join(dated, 'change.txt'));
    fs.writeFileSync(path.join(dated, 'change.txt'), 'a new version, put here by hand'); // cp new.txt <snap>/change.txt
    const mineIno = fs.statSync(path.join(dated, 'docs/mine.txt')).ino;

    const r = await verify(f.root, { repair: true });
    expect(r.damaged, JSON.stringify(r.findings, null, 1)).toBe(false);
    expectSnapshotsIntact(f, before);
    expect(fs.readdirSync(path.join(f.root, '.snap/trash'))).toEqual([]); // the old folder's rest is gone

    const run = runFolder(f.root, s);
    const runRel = path.relative(f.root, run);
    expect(fs.readFileSync(path.join(run, 'docs/mine.txt'), 'utf8')).toBe('saved into a backup by a user');
    expect(fs.statSync(path.join(run, 'docs/mine.txt')).ino).toBe(mineIno); // moved, not copied
    expect(fs.readFileSync(path.join(run, 'notes/sub/n.txt'), 'utf8')).toBe('notes');
    expect(fs.lstatSync(path.join(run, 'escape')).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(path.join(run, 'escape'))).toBe(outside);
    expect(fs.readFileSync(path.join(run, 'change.txt'), 'utf8')).toBe('a new version, put here by hand');
    expect(fullState(outside)).toEqual(outsideState);
    // nothing else was kept: the snapshot's own files went to the trash
    expect(fs.readdirSync(run).sort()).toEqual(['change.txt', 'docs', 'escape', 'notes']);
    expect(fs.readdirSync(path.join(run, 'docs'))).toEqual(['mine.txt']);

    // the report: the saved list, and each finding's note
    expect(r.saved!.map((x) => `${x.path} -> ${x.to}`).sort()).toEqual(
      ['change.txt', 'docs/mine.txt', 'escape', 'notes'].map((p) => `${s}/${p} -> ${runRel}/${p}`).sort(),
    );
    const extra = r.findings.find((x) => x.kind === 'entry-extra' && x.paths[0] === `${s}/docs/mine.txt`)!;
    expect(extra.repaired).toBe(true);
    expect(extra.repairNote).toContain(`${s}/docs/mine.txt → ${runRel}/docs/mine.txt`);

    // lost+found survives gc, a take (recovery, trash emptying) and a materialize --all
    const state = fullState(path.join(f.root, '.snap/lost+found'));
    expect(runCli(['gc', f.root], { env: ENV }).code).toBe(0);
    await take(f.root, { now: () => new Date('2030-01-01T00:00:00') });
    await materialize(f.root, { all: true });
    expect(fullState(path.join(f.root, '.snap/lost+found'))).toEqual(state);
    // verify mentions what waits there, as information
    const v = await verify(f.root);
    expect(v.damaged).toBe(false);
    const note = v.findings.find((x) => x.kind === 'lost-found')!;
    expect(note.severity).toBe('info');
    expect(note.paths).toEqual([runRel]);
    expect(note.message).toMatch(/^4 file\(s\) /);
  });

  it('the in-place re-link keeps a file replaced by other content, but not a copy of the object itself', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    const dated = path.join(f.root, f.snaps[2]!);
    const docs = path.join(dated, 'docs');
    const dirSt = fs.statSync(docs);
    const topSt = fs.statSync(dated);
    // same size, other content: only hashing tells it is not a copy
    fs.writeFileSync(path.join(docs, 'a.txt.new'), 'ALPHA ALPHA\n');
    fs.renameSync(path.join(docs, 'a.txt.new'), path.join(docs, 'a.txt'));
    // a byte-identical copy with another inode: nothing of anyone's is lost when it goes
    fs.copyFileSync(path.join(dated, 'shared.txt'), path.join(dated, 'shared.new'));
    fs.renameSync(path.join(dated, 'shared.new'), path.join(dated, 'shared.txt'));
    fs.utimesSync(docs, dirSt.atime, dirSt.mtime); // only the inodes differ: no rebuild
    fs.utimesSync(dated, topSt.atime, topSt.mtime);
    const docsIno = fs.statSync(docs).ino;

    const r = await verify(f.root, { repair: true });
    expect(r.findings.filter((x) => x.severity === 'damage').map((x) => x.kind)).toEqual(['entry-replaced', 'entry-replaced']);
    expect(r.damaged).toBe(false);
    expectSnapshotsIntact(f, before);
    expect(fs.statSync(docs).ino).toBe(docsIno); // re-linked in place, not rebuilt
    const run = runFolder(f.root, f.snaps[2]!);
    expect(fs.readFileSync(path.join(run, 'docs/a.txt'), 'utf8')).toBe('ALPHA ALPHA\n');
    expect(fs.readdirSync(run)).toEqual(['docs']); // shared.txt's copy was not kept
    expect(r.saved).toEqual([{ path: `${f.snaps[2]}/docs/a.txt`, to: `${path.relative(f.root, run)}/docs/a.txt` }]);
    const replaced = r.findings.find((x) => x.paths[0] === `${f.snaps[2]}/docs/a.txt`)!;
    expect(replaced.repairNote).toContain(`→ ${path.relative(f.root, run)}/docs/a.txt`);
  });

  it('keeps the old content of a healed object once, however many paths shared it', async () => {
    const f = await makeFixture();
    const obj = objectFileOf(f.root, f.snaps[0]!, 'docs/a.txt');
    // an editor writing in place through a snapshot path: every path sharing the inode changes
    const fd = fs.openSync(path.join(f.root, f.snaps[0]!, 'docs/a.txt'), 'r+');
    fs.writeSync(fd, 'EDITED', 0);
    fs.closeSync(fd);
    const r = await verify(f.root, { repair: true });
    expect(r.damaged).toBe(false);
    expect(r.saved).toHaveLength(1); // six paths, one inode
    const kept = path.join(f.root, r.saved![0]!.to);
    expect(fs.readFileSync(kept, 'utf8')).toBe('EDITEDalpha\n');
    expect(fs.statSync(obj).ino).not.toBe(fs.statSync(kept).ino);
    expect(r.findings.find((x) => x.kind === 'object-content')!.repairNote).toContain(`→ ${r.saved![0]!.to}`);
  });

  it('materialize in place keeps extras too, and the CLI says where they went', async () => {
    const f = await makeFixture();
    const s = f.snaps[0]!;
    fs.writeFileSync(path.join(f.root, s, 'docs/deep/todo.txt'), 'mine');
    const r = runCli(['materialize', f.root, s], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    const run = runFolder(f.root, s);
    const to = `${path.relative(f.root, run)}/docs/deep/todo.txt`;
    expect(fs.readFileSync(path.join(f.root, to), 'utf8')).toBe('mine');
    expect(r.stderr).toContain(`moved 1 path that were not the snapshot's to .snap/lost+found:\n  ${s}/docs/deep/todo.txt → ${to}\n`);
    expect(fs.existsSync(path.join(f.root, s, 'docs/deep/todo.txt'))).toBe(false);

    // verify --repair, human output: the moved path and where to
    fs.writeFileSync(path.join(f.root, s, 'later.txt'), 'also mine');
    const v = runCli(['verify', f.root, '--repair'], { env: ENV });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(new RegExp(`moved to \\.snap/lost\\+found .*\\n  ${s}/later\\.txt → \\.snap/lost\\+found/${s}/[^/]+/later\\.txt\\n`));
    const json = JSON.parse(runCli(['verify', f.root, '--json'], { env: ENV }).stdout);
    expect(json.findings.find((x: { kind: string }) => x.kind === 'lost-found').paths).toHaveLength(2); // two runs
  });

  it('a thing standing where the dated folder should be is kept as <run>/<snapshot>', async () => {
    const f = await makeFixture();
    const s = f.snaps[0]!;
    fs.rmSync(path.join(f.root, s), { recursive: true });
    fs.writeFileSync(path.join(f.root, s), 'not a folder');
    const r = await verify(f.root, { repair: true });
    expect(r.damaged).toBe(false);
    expect(fs.readFileSync(path.join(runFolder(f.root, s), s), 'utf8')).toBe('not a folder');
    expect(r.findings.find((x) => x.kind === 'folder-missing')!.repairNote).toContain(`${s} → .snap/lost+found/${s}/`);
  });

  it('never replaces anything in lost+found: a second run in the same second, or a path taken, gets a new run folder', async () => {
    const root = tempDir();
    const layout = layoutFor(root);
    fs.mkdirSync(layout.store);
    const at = new Date('2030-05-06T07:08:09');
    const put = (name: string, text: string) => {
      const p = path.join(root, name);
      fs.writeFileSync(p, text);
      return { abs: Buffer.from(p), st: fs.lstatSync(p, { bigint: true }) };
    };
    const a = new LostFound(layout, at);
    const x = put('x', 'first');
    await a.save('2026-01-01_00.00.00', Buffer.from('d/f'), x.abs, x.st);
    const y = put('y', 'second');
    await a.save('2026-01-01_00.00.00', Buffer.from('d/f'), y.abs, y.st); // same path again in one run
    const z = put('z', 'third');
    await new LostFound(layout, at).save('2026-01-01_00.00.00', Buffer.from('d/f'), z.abs, z.st); // same second
    const base = path.join(root, '.snap/lost+found/2026-01-01_00.00.00');
    expect(fs.readdirSync(base).sort()).toEqual(['2030-05-06_07.08.09', '2030-05-06_07.08.09-2', '2030-05-06_07.08.09-3']);
    expect(['', '-2', '-3'].map((n) => fs.readFileSync(path.join(base, `2030-05-06_07.08.09${n}`, 'd/f'), 'utf8'))).toEqual(['first', 'second', 'third']);
  });
});

const NOBODY = 65534;

describe.skipIf(!isRoot)('lost+found as a non-root user', () => {
  it('moves files out of read-only snapshot folders (rebuild and re-link) and puts the folders’ modes back', async () => {
    const base = tempDir();
    fs.chmodSync(base, 0o755);
    const root = path.join(base, 'root');
    const latest = path.join(root, '.latest');
    fs.mkdirSync(path.join(latest, 'ro'), { recursive: true });
    fs.writeFileSync(path.join(latest, 'ro/f.txt'), 'in the snapshot');
    fs.chmodSync(path.join(latest, 'ro'), 0o555);
    const roMtime = new Date('2024-01-01T00:00:00Z'); // whole seconds: utimes can put it back exactly
    fs.utimesSync(path.join(latest, 'ro'), roMtime, roMtime);
    for (const p of ['', '.latest', '.latest/ro', '.latest/ro/f.txt']) fs.chownSync(path.join(root, p), NOBODY, NOBODY);
    const nobody = (args: string[]) => {
      const r = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, CLI, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...ENV },
      });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const snaps: string[] = [];
    for (let i = 0; i < 2; i++) {
      const t = nobody(['take', root, '--json']);
      expect(t.code, t.stderr).toBe(0);
      snaps.push(JSON.parse(t.stdout).snapshot as string);
    }
    const [a, b] = snaps as [string, string];
    const before = [readTree(path.join(root, a)), readTree(path.join(root, b))];
    expect(fs.statSync(path.join(root, a, 'ro')).mode & 0o777).toBe(0o555);
    // a: an extra file (a rebuild); b: f.txt replaced by other bytes, the folder's mtime kept (a re-link)
    const put = (p: string, text: string) => {
      fs.writeFileSync(p, text); // (root writes into 0555 folders)
      fs.chownSync(p, NOBODY, NOBODY);
    };
    put(path.join(root, a, 'ro/extra.txt'), 'saved by hand');
    const roB = path.join(root, b, 'ro');
    put(path.join(roB, 'new'), 'other content');
    fs.renameSync(path.join(roB, 'new'), path.join(roB, 'f.txt'));
    for (const s of snaps) fs.utimesSync(path.join(root, s, 'ro'), roMtime, roMtime); // only the contents differ
    const r = nobody(['verify', root, '--repair', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.findings.filter((x: { severity: string }) => x.severity === 'damage').map((x: { kind: string }) => x.kind).sort()).toEqual(['entry-extra', 'entry-replaced']);
    const saved = report.saved as { path: string; to: string }[];
    expect(saved.map((x) => x.path).sort()).toEqual([`${a}/ro/extra.txt`, `${b}/ro/f.txt`]);
    expect(saved.map((x) => fs.readFileSync(path.join(root, x.to), 'utf8')).sort()).toEqual(['other content', 'saved by hand']);
    expect(diffTrees(before[0]!, readTree(path.join(root, a)))).toEqual([]);
    expect(diffTrees(before[1]!, readTree(path.join(root, b)))).toEqual([]);
  });
});

/**
 * A store folder that linksnap did not make — `.snap` itself, `objects`, `tmp`, `staging`,
 * `trash` or one fan-out folder `objects/<xx>` replaced by a symlink to a folder elsewhere, or
 * by a file, or owned by another user — makes every command refuse with exit 6 before it reads
 * or writes anything through it: the files behind the symlink survive a take, a gc, a verify, a
 * list. And gc deletes in the store only the names linksnap makes there; anything else is
 * reported and left.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';
import { take } from '../../src/ops/take/take.js';
import { fullState } from '../helpers/verify-fixture.js';
import { isRoot } from '../helpers/mount.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };

async function rootWithSnapshot(): Promise<{ root: string; latest: string; snap: string }> {
  const { root, latest } = newRoot();
  fs.writeFileSync(path.join(latest, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(latest, 'b.txt'), 'bravo\n');
  const r = await take(root, { now: steppingClock(), racyWindowMs: 0 });
  return { root, latest, snap: r.snapshot };
}

/** A folder outside the store with a file that must survive whatever linksnap is asked to do. */
function victim(): { dir: string; state: () => string[] } {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'victim.txt'), 'must survive');
  fs.mkdirSync(path.join(dir, '2020-01-01_00.00.00'));
  fs.writeFileSync(path.join(dir, '2020-01-01_00.00.00/inner.txt'), 'must survive too');
  return { dir, state: () => fullState(dir) };
}

/** Replace `.snap/<rel>` by a symlink to `target` (its old contents move aside, out of the way). */
function symlinkStoreFolder(root: string, rel: string, target: string): string {
  const p = path.join(root, '.snap', rel);
  fs.renameSync(p, path.join(tempDir(), 'old'));
  fs.symlinkSync(target, p);
  return p;
}

function firstFanOut(root: string): string {
  return fs.readdirSync(path.join(root, '.snap/objects')).find((n) => /^[0-9a-f]{2}$/.test(n))!;
}

const COMMANDS: [string, (root: string, snap: string) => string[]][] = [
  ['take', (root) => ['take', root]],
  ['gc', (root) => ['gc', root]],
  ['verify', (root) => ['verify', root]],
  ['list', (root) => ['list', root]],
  ['restore', (root, snap) => ['restore', root, snap, 'a.txt', '--to', path.join(tempDir(), 'out')]],
];

describe('store folders linksnap did not make', () => {
  for (const which of ['.', 'objects', 'tmp', 'staging', 'trash', 'fan-out']) {
    it(`a symlinked ${which === '.' ? '.snap' : which === 'fan-out' ? 'objects/<xx>' : `.snap/${which}`}: every command refuses with exit 6 and the outside survives`, async () => {
      const { root, snap } = await rootWithSnapshot();
      const v = victim();
      const rel = which === 'fan-out' ? `objects/${firstFanOut(root)}` : which;
      const link = which === '.' ? path.join(root, '.snap') : symlinkStoreFolder(root, rel, v.dir);
      if (which === '.') {
        // .snap itself pointing at a copy of the store elsewhere: still not the store linksnap made
        const elsewhere = path.join(v.dir, 'store');
        fs.renameSync(link, elsewhere);
        fs.symlinkSync(elsewhere, link);
      }
      const before = v.state();
      for (const [name, args] of COMMANDS) {
        const r = runCli(args(root, snap), { env: ENV });
        expect(r.code, `${name}: ${r.stderr}`).toBe(6);
        const lines = r.stderr.trim().split('\n');
        expect(lines[0], name).toBe(`snap: ${link} is a symlink, not a folder linksnap made`);
        expect(lines).toHaveLength(2); // the message and its hint, no stack trace
        expect(v.state(), `${name} changed the outside`).toEqual(before);
      }
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true); // left for the user to look at
    });
  }

  it('a store folder that is a file, or belongs to another user, is refused too', async () => {
    const { root } = await rootWithSnapshot();
    const trash = path.join(root, '.snap/trash');
    fs.rmSync(trash, { recursive: true });
    fs.writeFileSync(trash, 'not a folder');
    const r = runCli(['list', root], { env: ENV });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(new RegExp(`^snap: ${trash} is a file, not a folder linksnap made\n`));
    fs.rmSync(trash);
    fs.mkdirSync(trash, { mode: 0o700 });
    expect(runCli(['list', root], { env: ENV }).code).toBe(0);
    if (!isRoot) return;
    // running as root, a store folder owned by someone else is someone else's to swap
    fs.chownSync(trash, 65534, 65534);
    const g = runCli(['gc', root], { env: ENV });
    expect(g.code).toBe(6);
    expect(g.stderr).toMatch(new RegExp(`^snap: ${trash} belongs to uid 65534, not to uid 0`));
    expect(fs.existsSync(trash)).toBe(true);
  });
});

describe('gc deletes only what linksnap names', () => {
  it('reports and keeps files that do not follow the naming scheme, removes the leftovers that do', async () => {
    const { root } = await rootWithSnapshot();
    const snapDir = path.join(root, '.snap');
    const fan = firstFanOut(root);
    const keep = [
      `objects/${fan}/notes.txt`, // not an object name
      `objects/${fan}/${'ee'.repeat(32)}_644_0_0_1`, // an object name in the wrong fan-out folder
      'objects/README', // not a fan-out folder
      'tmp/my-upload.part', // not a tmp name linksnap makes
      'staging/holiday-photos', // not a snapshot name
      'trash/do-not-delete', // not a trash name linksnap makes
    ];
    for (const k of keep) fs.writeFileSync(path.join(snapDir, k), 'someone else’s');
    const ours = [`objects/${fan}/${fan}${'0'.repeat(62)}_644_0_0_1`, 'tmp/123-0123456789abcdef', 'trash/2020-01-01_00.00.00.1'];
    for (const k of ours) fs.writeFileSync(path.join(snapDir, k), 'a leftover');
    fs.mkdirSync(path.join(snapDir, 'staging/2031-01-01_00.00.00.building-0a1b2c3d'));

    const dry = runCli(['gc', root, '--dry-run', '--json'], { env: ENV });
    expect(dry.code, dry.stderr).toBe(3);
    expect(JSON.parse(dry.stdout).unknown.sort()).toEqual(keep.map((k) => `.snap/${k}`).sort());

    const r = runCli(['gc', root, '--json'], { env: ENV });
    expect(r.code, r.stderr).toBe(3); // completed, with paths left alone: listed
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ strays: 1, tmpFiles: 1, stagingFolders: 1 });
    expect(out.unknown.sort()).toEqual(keep.map((k) => `.snap/${k}`).sort());
    for (const k of keep) expect(fs.readFileSync(path.join(snapDir, k), 'utf8'), k).toBe('someone else’s');
    for (const k of ours) expect(fs.existsSync(path.join(snapDir, k)), k).toBe(false);
    expect(fs.readdirSync(path.join(snapDir, 'staging'))).toEqual(['holiday-photos']);

    const human = runCli(['gc', root], { env: ENV });
    expect(human.code).toBe(3);
    expect(human.stderr).toContain(`snap: warning: .snap/objects/${fan}/notes.txt: not made by linksnap; left in place\n`);
    expect(human.stderr).toContain('snap: warning: .snap/tmp/my-upload.part: not made by linksnap; left in place\n');
  });
});

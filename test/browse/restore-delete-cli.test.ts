/**
 * `snap restore --delete` through the real CLI: the target becomes equal to the snapshot's path
 * (what the snapshot lacks is removed, a folder where it has a file too), nothing outside the
 * target is touched — a symlink planted in the target pointing outside is removed as a symlink,
 * what it points to survives — `--dry-run` lists what would go and changes nothing, and targets
 * holding the backups or the live data are refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

const env = { LINKSNAP_NO_SYNC: '1' };
const snap = (...args: string[]) => runCli(args, { env });

/** Every path below `top` (not following symlinks) with what it is: `f:content`, `d`, `l:target`. */
function tree(top: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const n of fs.readdirSync(dir).sort()) {
      const p = path.join(dir, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out[r] = `l:${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = 'd';
        walk(p, r);
      } else out[r] = `f:${fs.readFileSync(p, 'utf8')}`;
    }
  };
  walk(top, '');
  return out;
}

function setup() {
  const { root, latest } = newRoot();
  fs.mkdirSync(path.join(latest, 'docs/sub'), { recursive: true });
  fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'alpha');
  fs.writeFileSync(path.join(latest, 'docs/sub/b.txt'), 'beta');
  fs.writeFileSync(path.join(latest, 'docs/c.txt'), 'gamma');
  const t = snap('take', root);
  expect(t.code, t.stderr).toBe(0);
  const name = path.basename(t.stdout.trim());

  const outside = tempDir();
  fs.writeFileSync(path.join(outside, 'precious.txt'), 'keep me');
  fs.mkdirSync(path.join(outside, 'dir'));
  fs.writeFileSync(path.join(outside, 'dir/also.txt'), 'keep me too');
  const base = tempDir();
  const target = path.join(base, 'docs');
  fs.mkdirSync(path.join(target, 'extradir/deeper'), { recursive: true });
  fs.writeFileSync(path.join(target, 'a.txt'), 'edited');
  fs.writeFileSync(path.join(target, 'extra.txt'), 'extra');
  fs.writeFileSync(path.join(target, 'extradir/deeper/x'), 'x');
  fs.symlinkSync(outside, path.join(target, 'link-out')); // planted: points outside the target
  fs.symlinkSync(path.join(outside, 'dir'), path.join(target, 'sub-link'));
  fs.mkdirSync(path.join(target, 'c.txt')); // a folder where the snapshot has a file
  fs.writeFileSync(path.join(target, 'c.txt/inner'), 'i');
  fs.symlinkSync(outside, path.join(target, 'sub')); // a symlink where the snapshot has a folder
  fs.writeFileSync(path.join(base, 'sibling.txt'), 'next to the target');
  return { root, latest, name, outside, base, target };
}

describe('snap restore --delete (CLI)', () => {
  it('--dry-run lists what would be removed and changes nothing; the real run makes the target equal and never leaves it', () => {
    const { root, name, outside, base, target } = setup();
    const before = tree(base);
    const outsideBefore = tree(outside);

    const dry = snap('restore', root, name, 'docs', '--to', base, '--delete', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.split('\n').filter(Boolean).sort()).toEqual(
      ['c.txt/inner', 'c.txt/', 'extra.txt', 'extradir/deeper/x', 'extradir/deeper/', 'extradir/', 'link-out', 'sub-link'].map((p) => `${target}/${p}`).sort(),
    );
    expect(dry.stderr).toMatch(/dry run, nothing changed: --delete would remove 8 paths/);
    expect(tree(base)).toEqual(before);

    const r = snap('restore', root, name, 'docs', '--to', base, '--delete', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ target, dryRun: false, removed: expect.arrayContaining([`${target}/link-out`, `${target}/extradir/`]) });
    expect(tree(target)).toEqual({ 'a.txt': 'f:alpha', 'c.txt': 'f:gamma', sub: 'd', 'sub/b.txt': 'f:beta' });
    expect(tree(outside)).toEqual(outsideBefore); // the planted symlinks were removed, not followed
    expect(fs.readFileSync(path.join(base, 'sibling.txt'), 'utf8')).toBe('next to the target');

    // Already equal: nothing to remove.
    const again = snap('restore', root, name, 'docs', '--to', base, '--delete', '--dry-run');
    expect(again.stdout).toBe('');
  });

  it('a folder at the target where the snapshot has a file is replaced by the file', () => {
    const { root, name, base } = setup();
    fs.mkdirSync(path.join(base, 'a.txt'));
    fs.writeFileSync(path.join(base, 'a.txt/old'), 'o');
    const dry = snap('restore', root, name, 'docs/a.txt', '--to', base, '--delete', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(`${base}/a.txt/old\n${base}/a.txt/\n`);
    const r = snap('restore', root, name, 'docs/a.txt', '--to', base, '--delete');
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(base, 'a.txt'), 'utf8')).toBe('alpha');
    expect(fs.readFileSync(path.join(base, 'sibling.txt'), 'utf8')).toBe('next to the target');
    expect(fs.existsSync(path.join(base, 'docs/extra.txt'))).toBe(true);
  });

  it('refuses targets holding the backups or the live data, and --dry-run without --delete', () => {
    const base = tempDir();
    const data = path.join(base, 'data');
    fs.mkdirSync(path.join(data, 'data'), { recursive: true });
    fs.writeFileSync(path.join(data, 'data/f'), 'x');
    const root = path.join(base, 'backups');
    fs.mkdirSync(root);
    fs.symlinkSync(data, path.join(root, '.latest'));
    const t = snap('take', root);
    expect(t.code, t.stderr).toBe(0);
    const name = path.basename(t.stdout.trim());

    const live = snap('restore', root, name, 'data', '--to', base, '--delete');
    expect(live.code).toBe(2);
    expect(live.stderr).toMatch(/^snap: restore --delete refuses .*\/data: it holds .*, the live data \.latest points to\n/);
    const inRoot = snap('restore', root, name, '--to', root, '--delete');
    expect(inRoot.code).toBe(2);
    expect(inRoot.stderr).toMatch(/it is inside the backup root/);
    const dryOnly = snap('restore', root, name, '--to', path.join(base, 'elsewhere'), '--dry-run');
    expect(dryOnly.code).toBe(2);
    expect(fs.readFileSync(path.join(data, 'data/f'), 'utf8')).toBe('x');
    expect(fs.existsSync(path.join(base, 'elsewhere'))).toBe(false);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

function takeOne(root: string): string {
  const r = runCli(['take', root, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).snapshot as string;
}

describe('snap restore (CLI)', () => {
  it('restores a file and a folder, prints the target, refuses to overwrite, merges with --force', () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'docs'));
    fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'alpha');
    fs.symlinkSync('a.txt', path.join(latest, 'docs/link'));
    const snap = takeOne(root);
    const out = tempDir();

    const r = runCli(['restore', root, snap, 'docs/a.txt', '--to', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(path.join(out, 'a.txt') + '\n');
    expect(r.stderr).toMatch(/restored docs\/a\.txt from/);
    expect(fs.readFileSync(path.join(out, 'a.txt'), 'utf8')).toBe('alpha');

    const again = runCli(['restore', root, snap, 'docs/a.txt', '--to', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    expect(again.stderr).toMatch(/--force/);
    expect(again.stderr.trim().split('\n')).toHaveLength(2); // the message and what to do

    const j = runCli(['restore', root, path.join(root, snap), 'docs', '--to', out, '--json']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ snapshot: snap, path: 'docs', kind: 'dir', target: path.join(out, 'docs'), files: 1, dirs: 1, symlinks: 1, bytes: 5, replaced: 0 });
    expect(fs.readlinkSync(path.join(out, 'docs/link'))).toBe('a.txt');

    fs.writeFileSync(path.join(out, 'docs/a.txt'), 'local');
    const f = runCli(['restore', root, snap, 'docs', '--to', out, '--force', '--json']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout).replaced).toBe(2);
    expect(fs.readFileSync(path.join(out, 'docs/a.txt'), 'utf8')).toBe('alpha');

    const whole = runCli(['restore', root, snap, '--to', path.join(out, 'everything'), '-q']);
    expect(whole.code).toBe(0);
    expect(whole.stderr).toBe('');
    expect(fs.readdirSync(path.join(out, 'everything'))).toEqual(['docs']);
  });

  it('exits 2 for bad input and 6 for a damaged store, one line plus a hint, no stack', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'aaaa');
    const snap = takeOne(root);
    const cases: [string[], number, RegExp][] = [
      [['restore', root, snap, 'a'], 2, /required option '--to <dest>'/],
      [['restore', root, 'nope', '--to', tempDir()], 2, /no snapshot named nope/],
      [['restore', root, snap, 'missing', '--to', tempDir()], 2, /has no missing[\s\S]*snap log/],
      [['restore', root, snap, 'a', '--to', '/no/such/dir/x'], 2, /mkdir -p/],
    ];
    for (const [args, code, msg] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    // Bit rot in the store: the restore refuses to hand out the bytes.
    const objects = path.join(root, '.snap/objects');
    const fan = fs.readdirSync(objects)[0]!;
    const obj = path.join(objects, fan, fs.readdirSync(path.join(objects, fan))[0]!);
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, 'AAAB');
    const dest = path.join(tempDir(), 'a');
    const r = runCli(['restore', root, snap, 'a', '--to', dest]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/damaged[\s\S]*snap verify/);
    expect(fs.existsSync(dest)).toBe(false);
  });
});

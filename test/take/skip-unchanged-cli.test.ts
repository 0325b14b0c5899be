/**
 * Quiet nights: `take --skip-unchanged` (or take.skip-unchanged=true) makes no new snapshot and
 * rotates nothing when nothing changed since the newest one, so identical nights do not push
 * real history out of a count-based rotation; it still exits 0 and prints the newest path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';

const env = { LINKSNAP_NO_SYNC: '1' };
const SETFATTR = spawnSync('setfattr', ['--version']).status === 0;
if (!SETFATTR) console.warn('skip-unchanged-cli: setfattr missing (apt-get install attr): the attribute case is skipped');

function snapshots(root: string): string[] {
  return fs.readdirSync(root).filter((n) => /^\d{4}-\d\d-\d\d_/.test(n)).sort();
}

describe('take --skip-unchanged', () => {
  it('makes no snapshot and rotates nothing when nothing changed; a change is taken', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a.txt'), 'one');
    const first = runCli(['take', root, '--keep', '2'], { env });
    expect(first.code).toBe(0);
    fs.writeFileSync(path.join(latest, 'b.txt'), 'two');
    const second = runCli(['take', root, '--keep', '2'], { env });
    const newest = second.stdout.trim();
    expect(snapshots(root)).toHaveLength(2);

    for (let night = 0; night < 3; night++) {
      const r = runCli(['take', root, '--keep', '2', '--skip-unchanged'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n').at(-1)).toBe(newest);
      expect(r.stderr).toContain(`nothing changed since ${path.basename(newest)}; no new snapshot`);
    }
    expect(snapshots(root)).toEqual([path.basename(first.stdout.trim()), path.basename(newest)]);
    expect(fs.readdirSync(path.join(root, '.snap', 'staging'))).toEqual([]);

    const json = JSON.parse(runCli(['take', root, '--skip-unchanged', '--json'], { env }).stdout);
    expect(json).toMatchObject({ skipped: true, snapshot: path.basename(newest), path: newest, rotated: [] });
    // snap status sees a healthy night, and why.
    const status = runCli(['status', root, '--json', '--max-age', '1h'], { env });
    expect(status.code, status.stdout).toBe(0);
    expect(JSON.parse(status.stdout).lastTake.outcome).toBe('skipped');

    // A change of content, or only of a folder's metadata, is a new snapshot.
    fs.writeFileSync(path.join(latest, 'a.txt'), 'one, edited');
    const changed = JSON.parse(runCli(['take', root, '--keep', '2', '--skip-unchanged', '--json'], { env }).stdout);
    expect(changed.skipped).toBe(false);
    fs.chmodSync(latest, 0o750);
    const chmodded = JSON.parse(runCli(['take', root, '--keep', '2', '--skip-unchanged', '--json'], { env }).stdout);
    expect(chmodded.skipped).toBe(false);
    expect(runCli(['verify', root], { env }).code).toBe(0);
  });

  it('applies from the saved setting, and never skips when the newest folder is gone', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a.txt'), 'one');
    const first = runCli(['take', root], { env }).stdout.trim();
    expect(runCli(['config', root, 'take.skip-unchanged=true'], { env }).code).toBe(0);
    const quiet = runCli(['take', root, '--quiet'], { env });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout.trim()).toBe(first);
    expect(snapshots(root)).toHaveLength(1);

    // Someone removed the dated folder by hand: the next take must make one, not point at nothing.
    fs.rmSync(first, { recursive: true });
    const r = runCli(['take', root, '--json'], { env });
    expect(JSON.parse(r.stdout).skipped).toBe(false);
  });

  it.skipIf(!SETFATTR)('with --xattrs, an attribute changed only on the top folder is a new snapshot', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a.txt'), 'one');
    expect(runCli(['take', root, '--xattrs', '--quiet'], { env }).code).toBe(0);
    const quiet = JSON.parse(runCli(['take', root, '--xattrs', '--skip-unchanged', '--json'], { env }).stdout);
    expect(quiet.skipped).toBe(true);
    // Only the top folder's attributes change: its mode, owner and mtime stay, its tree too.
    expect(spawnSync('setfattr', ['-n', 'user.label', '-v', 'tuesday', latest]).status).toBe(0);
    const r = runCli(['take', root, '--xattrs', '--skip-unchanged', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).skipped).toBe(false);
    expect(snapshots(root)).toHaveLength(2);
  });
});

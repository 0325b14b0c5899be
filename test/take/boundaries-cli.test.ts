/**
 * Where a take stops descending: mount points below .latest (--one-file-system, as rsync -x)
 * and folders holding a marker file (--exclude-caches with a valid CACHEDIR.TAG,
 * --exclude-if-present <name>), each through the CLI, from the options and from the saved
 * settings, and as `take --dry-run` shows them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { isRoot, mountTmpfs, unmount } from '../helpers/mount.js';

const env = { LINKSNAP_NO_SYNC: '1' };
const SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55';

function take(root: string, ...args: string[]) {
  const r = runCli(['take', root, ...args], { env });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').at(-1)!;
}

/** Every path below a folder, relative and sorted (folders end in '/'). */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(e.isDirectory() ? `${r}/` : r);
      if (e.isDirectory()) walk(path.join(d, e.name), r);
    }
  };
  walk(dir, '');
  return out.sort();
}

const mounts: string[] = [];
afterEach(() => {
  while (mounts.length) unmount(mounts.pop()!);
});

if (!isRoot) console.warn('boundaries-cli: skipping the --one-file-system tests: mounting a tmpfs needs root');

describe.skipIf(!isRoot)('--one-file-system', () => {
  it('keeps a mount point below .latest as an empty folder, from the option or the saved setting', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'here.txt'), 'on the source file system');
    const mnt = path.join(latest, 'mnt');
    expect(mountTmpfs(mnt, '8m')).toBe(true);
    mounts.push(mnt);
    fs.mkdirSync(path.join(mnt, 'deep'));
    fs.writeFileSync(path.join(mnt, 'deep', 'there.txt'), 'on another file system');

    // Without the option the mount is crossed, as before.
    expect(listing(take(root))).toEqual(['here.txt', 'mnt/', 'mnt/deep/', 'mnt/deep/there.txt']);

    const dry = runCli(['take', root, '--dry-run', '--one-file-system'], { env });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('- mnt/  (another file system: kept as an empty folder)');
    expect(dry.stdout).not.toContain('there.txt');

    const crossed = take(root, '--one-file-system', '-v');
    expect(listing(crossed)).toEqual(['here.txt', 'mnt/']);
    // The mount point keeps the mounted folder's own metadata, as rsync -x does.
    expect(fs.statSync(path.join(crossed, 'mnt')).mode & 0o7777).toBe(fs.statSync(mnt).mode & 0o7777);

    expect(runCli(['config', root, 'take.one-file-system=true'], { env }).code).toBe(0);
    expect(listing(take(root))).toEqual(['here.txt', 'mnt/']);
    expect(runCli(['verify', root], { env }).code).toBe(0);
  });

  it('takes a .latest that is itself a mount point, and stays on it', () => {
    const { root, latest } = newRoot();
    expect(mountTmpfs(latest, '8m')).toBe(true);
    mounts.push(latest);
    fs.writeFileSync(path.join(latest, 'top.txt'), 'top');
    const inner = path.join(latest, 'inner');
    expect(mountTmpfs(inner, '8m')).toBe(true);
    mounts.unshift(inner); // unmounted before .latest
    fs.writeFileSync(path.join(inner, 'hidden.txt'), 'below another mount');
    expect(listing(take(root, '--one-file-system'))).toEqual(['inner/', 'top.txt']);
  });
});

describe('marker files', () => {
  function cacheTree(latest: string) {
    fs.mkdirSync(path.join(latest, 'cache', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(latest, 'cache', 'CACHEDIR.TAG'), `${SIGNATURE}\n# made by a browser\n`);
    fs.writeFileSync(path.join(latest, 'cache', 'blob.bin'), 'cached');
    fs.writeFileSync(path.join(latest, 'cache', 'sub', 'deeper.bin'), 'cached too');
    fs.mkdirSync(path.join(latest, 'fake'));
    fs.writeFileSync(path.join(latest, 'fake', 'CACHEDIR.TAG'), 'not the signature\n');
    fs.writeFileSync(path.join(latest, 'fake', 'kept.txt'), 'a stray tag hides nothing');
    fs.writeFileSync(path.join(latest, 'doc.txt'), 'data');
  }

  it('--exclude-caches keeps only a valid CACHEDIR.TAG of a cache folder', () => {
    const { root, latest } = newRoot();
    cacheTree(latest);
    const dry = runCli(['take', root, '--dry-run', '--exclude-caches'], { env });
    expect(dry.stdout).toContain('- cache/  (holds CACHEDIR.TAG: only that file kept)');
    expect(dry.stdout).toContain('+ cache/CACHEDIR.TAG');
    expect(dry.stdout).not.toContain('blob.bin');
    const snap = take(root, '--exclude-caches');
    expect(listing(snap)).toEqual(['cache/', 'cache/CACHEDIR.TAG', 'doc.txt', 'fake/', 'fake/CACHEDIR.TAG', 'fake/kept.txt']);
    expect(runCli(['verify', root], { env }).code).toBe(0);
  });

  it('a marker added to a folder whose files the last take recorded hides them (nothing linked from the records)', () => {
    const { root, latest } = newRoot();
    cacheTree(latest);
    fs.rmSync(path.join(latest, 'cache', 'CACHEDIR.TAG'));
    expect(listing(take(root, '--exclude-caches'))).toContain('cache/blob.bin');
    fs.writeFileSync(path.join(latest, 'cache', 'CACHEDIR.TAG'), SIGNATURE);
    expect(listing(take(root, '--exclude-caches')).filter((p) => p.startsWith('cache/'))).toEqual(['cache/', 'cache/CACHEDIR.TAG']);
    // And once the marker is gone again, the folder's files come back, with their content.
    fs.rmSync(path.join(latest, 'cache', 'CACHEDIR.TAG'));
    const back = take(root, '--exclude-caches');
    expect(fs.readFileSync(path.join(back, 'cache', 'sub', 'deeper.bin'), 'utf8')).toBe('cached too');
    expect(runCli(['verify', root], { env }).code).toBe(0);
  });

  it('a marker in a folder recorded in several parts (a big folder) hides its files too', () => {
    const { root, latest } = newRoot();
    const big = path.join(latest, 'big');
    fs.mkdirSync(big);
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(big, `f${String(i).padStart(2, '0')}`), `file ${i}`);
    const chunked = { ...env, LINKSNAP_TEST_SCAN_CHUNK: '8' };
    const first = runCli(['take', root, '--exclude-if-present', '.nobackup'], { env: chunked });
    expect(first.code, first.stderr).toBe(0);
    expect(listing(first.stdout.trim())).toHaveLength(41);
    fs.writeFileSync(path.join(big, '.nobackup'), '');
    const second = runCli(['take', root, '--exclude-if-present', '.nobackup', '--allow-shrink'], { env: chunked });
    expect(second.code, second.stderr).toBe(0);
    expect(listing(second.stdout.trim())).toEqual(['big/', 'big/.nobackup']);
    expect(runCli(['verify', root], { env }).code).toBe(0);
  });

  it('--exclude-if-present and the saved settings, for a marker without a signature', () => {
    const { root, latest } = newRoot();
    cacheTree(latest);
    fs.mkdirSync(path.join(latest, 'scratch'));
    fs.writeFileSync(path.join(latest, 'scratch', '.nobackup'), '');
    fs.writeFileSync(path.join(latest, 'scratch', 'big.iso'), 'huge');
    expect(listing(take(root, '--exclude-if-present', '.nobackup')).filter((p) => p.startsWith('scratch'))).toEqual(['scratch/', 'scratch/.nobackup']);

    expect(runCli(['config', root, 'take.exclude-caches=true', 'take.exclude-if-present=.nobackup,.nosnap'], { env }).code).toBe(0);
    const snap = take(root);
    expect(listing(snap).filter((p) => p.startsWith('scratch/') || p.startsWith('cache/'))).toEqual(['cache/', 'cache/CACHEDIR.TAG', 'scratch/', 'scratch/.nobackup']);
    const shown = runCli(['config', root, '--json'], { env });
    expect(shown.stdout).toContain('.nobackup,.nosnap');

    const bad = runCli(['take', root, '--exclude-if-present', 'a/b'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^snap: --exclude-if-present takes a file name, got 'a\/b'/);
    expect(runCli(['config', root, 'take.exclude-if-present=x/y'], { env }).code).toBe(2);
  });
});

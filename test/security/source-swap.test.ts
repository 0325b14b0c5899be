/**
 * Never read outside `.latest`: a folder that is swapped for a symlink (to a private folder
 * outside the source) between its lstat and its listing must not be followed. Every folder is
 * opened without following symlinks, checked to be the inode its parent's lstat saw, and read
 * through its descriptor; a swapped one is skipped with a warning.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

/** A child process that swaps <dir>/zzz between the real folder and a symlink to `outside`, as fast as it can. */
function startSwapper(dir: string, outside: string) {
  const script = `
    const fs = require('fs'), path = require('path');
    const [dir, outside] = process.argv.slice(1);
    const zzz = path.join(dir, 'zzz'), real = path.join(dir, 'zzz.real'), link = path.join(dir, 'zzz.link');
    fs.symlinkSync(outside, link);
    for (;;) {
      try { fs.renameSync(zzz, real); fs.renameSync(link, zzz); fs.renameSync(zzz, link); fs.renameSync(real, zzz); } catch {}
    }`;
  return spawn(process.execPath, ['-e', script, dir, outside], { stdio: 'ignore' });
}

describe('a source folder swapped for a symlink during the take', () => {
  it('is never followed: nothing from outside the source reaches a snapshot', async () => {
    const { root, latest } = newRoot();
    const outside = tempDir();
    fs.chmodSync(outside, 0o700);
    fs.writeFileSync(path.join(outside, 'SECRET'), 'not part of the backup');
    // 1,500 sibling folders: the walk reaches zzz (last in byte order) well after its lstat.
    for (let i = 0; i < 1500; i++) {
      const d = path.join(latest, `d${String(i).padStart(4, '0')}`);
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'f'), `${i}`);
    }
    fs.mkdirSync(path.join(latest, 'zzz'), { mode: 0o755 });
    fs.writeFileSync(path.join(latest, 'zzz', 'inside'), 'part of the backup');
    const swapper = startSwapper(latest, outside);
    try {
      for (let round = 0; round < 6; round++) {
        const r = await take(root, { keep: 100 });
        const zzz = path.join(r.path, 'zzz');
        const seen = fs.lstatSync(zzz, { throwIfNoEntry: false });
        if (seen?.isDirectory()) {
          expect(fs.readdirSync(zzz)).not.toContain('SECRET');
          // A folder that was swapped while read is skipped and warned about, never mixed.
          if (fs.readdirSync(zzz).length === 0) expect(r.warnings.some((w) => w.path === 'zzz')).toBe(true);
        }
        for (const name of fs.readdirSync(r.path)) expect(name).not.toBe('SECRET');
      }
    } finally {
      swapper.kill('SIGKILL');
    }
  });
});

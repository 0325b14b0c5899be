import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Mount a tmpfs of `size` at dir; false when this machine does not allow it (not root). */
export function mountTmpfs(dir: string, size: string): boolean {
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}

export const isRoot = process.getuid?.() === 0;

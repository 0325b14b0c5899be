import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];

/** A fresh temp folder, removed after the test (made writable first: snapshots may be 0555). */
export function tempDir(prefix = 'linksnap-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

function forceRemove(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    const walk = (q: string) => {
      const st = fs.lstatSync(q, { throwIfNoEntry: false });
      if (!st || !st.isDirectory()) return;
      fs.chmodSync(q, 0o700);
      for (const n of fs.readdirSync(q)) walk(path.join(q, n));
    };
    walk(p);
    fs.rmSync(p, { recursive: true, force: true });
  }
}

afterEach(() => {
  while (made.length) forceRemove(made.pop()!);
});

/** A backup root with an empty .latest folder. */
export function newRoot(): { root: string; latest: string } {
  const root = tempDir();
  const latest = path.join(root, '.latest');
  fs.mkdirSync(latest);
  return { root, latest };
}

/** A clock for take({ now }) that advances a fixed step per call, so names never collide. */
export function steppingClock(start = new Date('2026-01-01T00:00:00'), stepMs = 3600_000): () => Date {
  let t = start.getTime() - stepMs;
  return () => new Date((t += stepMs));
}

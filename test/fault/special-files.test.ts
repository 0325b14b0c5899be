/**
 * FIFOs, sockets and devices in .latest are not stored (a warning each, exit 3), and a take never
 * blocks opening a FIFO. Hard links inside .latest come out sharing one inode.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';

describe('special files and hard links in the source', () => {
  it('skips FIFOs and sockets with a warning and never hangs', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'normal'), 'x');
    expect(spawnSync('mkfifo', [path.join(latest, 'pipe')]).status).toBe(0);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(latest, 'sock'), resolve));
    try {
      const r = runCli(['take', root, '--json'], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(3);
      const out = JSON.parse(r.stdout);
      expect(out.warnings.map((w: { kind: string; path: string }) => `${w.kind}:${w.path}`).sort()).toEqual(['special:pipe', 'special:sock']);
      expect(fs.readdirSync(out.path)).toEqual(['normal']);
    } finally {
      server.close();
    }
  });

  it('keeps hard links inside .latest as one inode', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'shared inode');
    fs.linkSync(path.join(latest, 'a'), path.join(latest, 'b'));
    const r = runCli(['take', root]);
    expect(r.code).toBe(0);
    const snap = r.stdout.trim();
    expect(fs.statSync(path.join(snap, 'a')).ino).toBe(fs.statSync(path.join(snap, 'b')).ino);
    expect(fs.statSync(path.join(snap, 'a')).ino).not.toBe(fs.statSync(path.join(latest, 'a')).ino);
  });
});

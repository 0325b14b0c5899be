/**
 * Separate processes started at the same moment on one root: three takes, a gc and a
 * materialize. The lock serialises them (each waits its turn with --wait), every run succeeds,
 * and the store verifies clean afterwards. Without --wait, the loser exits 4 with a clear line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { lockRoot, openRoot } from '../../src/ops/shared/root.js';

function start(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, LINKSNAP_NO_SYNC: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('concurrent runs on one root', () => {
  it('serialises takes, gc and materialize; the store verifies clean', async () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(latest, `f${i}`), `file ${i}`);
    expect(runCli(['take', root, '-q']).code).toBe(0);
    const runs = await Promise.all([
      start(['take', root, '-q', '--wait', '60']),
      start(['take', root, '-q', '--wait', '60']),
      start(['gc', root, '--wait', '60']),
      start(['materialize', root, '--all', '--wait', '60']),
      start(['take', root, '-q', '--wait', '60']),
    ]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const snaps = JSON.parse(runCli(['list', root, '--json']).stdout) as { name: string }[];
    expect(snaps).toHaveLength(4);
    expect(new Set(snaps.map((s) => s.name)).size).toBe(4);
    const v = runCli(['verify', root]);
    expect(v.code, v.stdout).toBe(0);
  }, 120_000);

  it('refuses a run while another holds the lock (no --wait), naming the holder, exit 4', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    expect(runCli(['take', root, '-q']).code).toBe(0);
    const held = openRoot(root);
    const lock = lockRoot(held, 'gc');
    try {
      const r = await start(['take', root, '-q', '--wait', '0']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(new RegExp(`^snap: another linksnap run holds the lock on this root \\(pid ${process.pid}, \`gc\``, 'm'));
    } finally {
      lock.release();
      held.close();
    }
    expect((await start(['take', root, '-q', '--wait', '0'])).code).toBe(0);
    expect(runCli(['verify', root]).code).toBe(0);
  });
});

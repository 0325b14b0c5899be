/**
 * Unreadable files and folders (EACCES) for a non-root user: the snapshot is still taken, the
 * skipped paths are listed, and the exit code is 3 ("completed with warnings"). Runs the CLI as
 * `nobody` through setpriv, so it needs root to set up; skipped otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { isRoot } from '../helpers/mount.js';

const NOBODY = 65534;

function runAsNobody(args: string[]) {
  const r = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, LINKSNAP_NO_SYNC: '1' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!isRoot)('unreadable source paths as a non-root user', () => {
  it('takes the snapshot, lists what it skipped, exits 3', () => {
    const base = tempDir();
    fs.chmodSync(base, 0o755);
    const root = path.join(base, 'root');
    const latest = path.join(root, '.latest');
    fs.mkdirSync(path.join(latest, 'open'), { recursive: true });
    fs.mkdirSync(path.join(latest, 'closed'));
    fs.writeFileSync(path.join(latest, 'open/ok.txt'), 'readable');
    fs.writeFileSync(path.join(latest, 'closed/hidden.txt'), 'not for nobody');
    fs.writeFileSync(path.join(latest, 'secret.txt'), 'not for nobody');
    fs.chmodSync(path.join(latest, 'secret.txt'), 0o600);
    fs.chmodSync(path.join(latest, 'closed'), 0o700);
    fs.chownSync(root, NOBODY, NOBODY);
    const r = runAsNobody(['take', root, '--json']);
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.warnings.map((w: { path: string; kind: string }) => `${w.kind}:${w.path}`).sort()).toEqual(['unreadable:closed', 'unreadable:secret.txt']);
    expect(fs.readFileSync(path.join(out.path, 'open/ok.txt'), 'utf8')).toBe('readable');
    expect(fs.existsSync(path.join(out.path, 'secret.txt'))).toBe(false);
    const human = runAsNobody(['take', root]);
    expect(human.code).toBe(3);
    expect(human.stderr).toMatch(/warning: secret\.txt: skipped: EACCES/);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { makeFixture } from '../helpers/verify-fixture.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };

describe('snap materialize (CLI)', () => {
  it('rebuilds a missing folder, printing its path; with nothing to do says so', async () => {
    const f = await makeFixture();
    const before = readTree(path.join(f.root, f.snaps[0]!));
    fs.rmSync(path.join(f.root, f.snaps[0]!), { recursive: true });
    const r = runCli(['materialize', f.root], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(path.join(f.root, f.snaps[0]!) + '\n');
    expect(r.stderr).toMatch(/6 files linked, 4 folders, 1 symlink/);
    expect(diffTrees(before, readTree(path.join(f.root, f.snaps[0]!)))).toEqual([]);
    const again = runCli(['materialize', f.root], { env: ENV });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).toMatch(/nothing to rebuild/);
  });

  it('--to restores a snapshot elsewhere; --json reports it; a non-empty target is refused (exit 2)', async () => {
    const f = await makeFixture();
    const dest = path.join(tempDir(), 'out');
    const r = runCli(['materialize', f.root, f.snaps[1]!, '--to', dest, '--copy', '--json'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ to: dest, snapshots: [{ name: f.snaps[1], path: dest, files: 6, copied: 6, linked: 0 }] });
    expect(diffTrees(readTree(path.join(f.root, f.snaps[1]!)), readTree(dest))).toEqual([]);
    const again = runCli(['materialize', f.root, '--to', dest], { env: ENV });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is not empty/);
    const two = runCli(['materialize', f.root, f.snaps[0]!, f.snaps[1]!, '--to', tempDir()], { env: ENV });
    expect(two.code).toBe(2);
    expect(runCli(['materialize', tempDir()], { env: ENV }).code).toBe(2);
  });
});

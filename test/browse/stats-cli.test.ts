import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

describe('snap stats (CLI)', () => {
  it('prints a table and the store summary, or JSON', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'x'.repeat(1000));
    const s = JSON.parse(runCli(['take', root, '--json']).stdout).snapshot as string;
    const r = runCli(['stats', root]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^SNAPSHOT +FILES +SIZE +ADDED +ONLY HERE\n/);
    expect(r.stdout).toContain(s);
    expect(r.stdout).toMatch(/store: 1 objects \(1 distinct contents\), 1000 B stored; snapshots hold 1000 B: dedup 1\.00x/);
    const j = runCli(['stats', root, '--json', '--disk']);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.snapshots).toEqual([
      { name: s, takenAt: expect.any(String), pinned: false, files: 1, dirs: 0, bytes: 1000, addedObjects: 1, addedBytes: 1000, exclusiveObjects: 1, exclusiveBytes: 1000 },
    ]);
    expect(parsed.store).toMatchObject({ objects: 1, objectFiles: 1, contents: 1, storedBytes: 1000, logicalBytes: 1000, dedupRatio: 1 });
    expect(parsed.store.diskBytes).toBeGreaterThan(0);
    const bad = runCli(['stats', tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no linksnap store/);
  });
});

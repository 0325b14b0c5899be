/**
 * take's rotation collects garbage incrementally, from the root trees of the snapshots it
 * removed (catalog/gc-queries.ts). Kill a rotating take at every fault point in turn: whatever
 * the removal left (rows gone, gc not run; gc half done), the next rotating take collects it,
 * so the store ends with exactly the objects and trees the live snapshots need.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { verify } from '../../src/ops/verify/verify.js';
import { neededObjectFiles, objectDirListing, storeProblems } from '../helpers/store-check.js';

const env = { LINKSNAP_NO_SYNC: '1' };

/** Trees and objects rows no live snapshot reaches (what a full gc would delete). */
function garbageRows(root: string): { trees: number; objects: number } {
  const r = openRoot(root);
  try {
    const objects = r.catalog.unreferencedObjects().length;
    r.catalog.markLiveTrees();
    const trees = Number(r.catalog.db.prepare(`SELECT count(*) FROM trees WHERE id NOT IN (SELECT id FROM live_trees)`).pluck().get());
    return { trees, objects };
  } finally {
    r.close();
  }
}

function version(latest: string, i: number): void {
  fs.mkdirSync(path.join(latest, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(latest, 'shared'), 'in every snapshot');
  fs.writeFileSync(path.join(latest, 'sub', 'v'), `version ${i}`);
  fs.writeFileSync(path.join(latest, `only-${i}`), `only in version ${i}`);
  if (i > 0) fs.rmSync(path.join(latest, `only-${i - 1}`), { force: true });
}

describe('a rotating take killed at any point', () => {
  it('leaves garbage that the next rotating take collects, to the last row and file', () => {
    let crashes = 0;
    for (let k = 1; k < 80; k++) {
      const { root, latest } = newRoot();
      for (let i = 0; i < 2; i++) {
        version(latest, i);
        expect(runCli(['take', root, '--keep', '2', '-q'], { env }).code).toBe(0);
      }
      version(latest, 2);
      const killed = runCli(['take', root, '--keep', '2', '-q'], { env: { ...env, LINKSNAP_CRASH_AFTER: String(k) } });
      if (killed.code === 0) break; // k passed every fault point
      expect(killed.code, killed.stderr).toBe(-1);
      crashes++;
      version(latest, 3);
      const next = runCli(['take', root, '--keep', '2', '--json'], { env });
      expect(next.code, next.stderr).toBe(0);
      expect(JSON.parse(next.stdout).rotated.length, `after a crash at point ${k}`).toBeGreaterThan(0);
      expect(garbageRows(root), `after a crash at point ${k}`).toEqual({ trees: 0, objects: 0 });
      expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
      expect(storeProblems(root)).toEqual([]);
    }
    expect(crashes).toBeGreaterThanOrEqual(5);
  }, 300_000);

  it('after a clean rotation the store holds no garbage, and verify agrees', async () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 6; i++) {
      version(latest, i);
      const r = runCli(['take', root, '--keep', '2', '--json'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(garbageRows(root)).toEqual({ trees: 0, objects: 0 });
      expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
    }
    const v = await verify(root);
    expect(v.findings.filter((f) => f.severity === 'damage')).toEqual([]);
  }, 120_000);
});

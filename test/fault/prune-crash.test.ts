/**
 * Kill `snap prune` with SIGKILL at every fault point in turn: the snapshots the policy keeps
 * stay intact, no half-removed snapshot is visible as complete, and the next prune + gc finish
 * the job.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { diffTrees, readTree, type TreeInfo } from '../helpers/tree.js';
import { take } from '../../src/ops/take/take.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { verify } from '../../src/ops/verify/verify.js';
import { neededObjectFiles, objectDirListing, storeProblems } from '../helpers/store-check.js';

process.env.LINKSNAP_NO_SYNC = '1';

async function fixture(): Promise<{ root: string; trees: Map<string, TreeInfo>; names: string[] }> {
  const { root, latest } = newRoot();
  const now = steppingClock();
  fs.writeFileSync(path.join(latest, 'shared'), 'in every snapshot');
  fs.mkdirSync(path.join(latest, 'dir'));
  const trees = new Map<string, TreeInfo>();
  const names: string[] = [];
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(path.join(latest, 'dir/v'), `version ${i}`);
    const src = readTree(latest);
    const s = (await take(root, { now, keep: 100, racyWindowMs: 0 })).snapshot;
    trees.set(s, src);
    names.push(s);
  }
  return { root, trees, names };
}

describe('prune killed at any point', () => {
  it('keeps every survivor intact and the next run finishes the removal', async () => {
    const env = { LINKSNAP_NO_SYNC: '1' };
    let crashes = 0;
    for (let k = 1; k < 40; k++) {
      const { root, trees, names } = await fixture();
      const keep = names.slice(-2);
      const r = runCli(['prune', root, '--keep-last', '2'], { env: { ...env, LINKSNAP_CRASH_AFTER: String(k) } });
      if (r.code === 0) break;
      expect(r.code, r.stderr).toBe(-1);
      crashes++;
      const v = await verify(root); // full: every object re-hashed
      expect(v.findings.filter((f) => f.severity === 'damage')).toEqual([]);
      // Complete snapshots are intact; the ones being removed are either complete or 'deleting'.
      expect(storeProblems(root)).toEqual([]);
      const live = listSnapshots(root).map((s) => s.name);
      for (const s of keep) expect(live).toContain(s);
      for (const s of keep) expect(diffTrees(trees.get(s)!, readTree(path.join(root, s)))).toEqual([]);
      // The next prune (recovery finishes the interrupted removal) and a gc finish the job.
      const again = runCli(['prune', root, '--keep-last', '2'], { env });
      expect(again.code, again.stderr).toBe(0);
      expect(runCli(['gc', root], { env }).code).toBe(0);
      expect(listSnapshots(root).map((s) => s.name)).toEqual(keep);
      expect(fs.readdirSync(root).filter((n) => /^\d{4}-/.test(n)).sort()).toEqual(keep);
      expect(storeProblems(root)).toEqual([]);
      expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
      expect(fs.readdirSync(path.join(root, '.snap/trash'))).toEqual([]);
    }
    // marked, 3 renames, rows deleted, gc rows, 3 unlinks
    expect(crashes).toBeGreaterThanOrEqual(9);
  }, 120_000);
});

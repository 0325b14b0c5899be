/**
 * Kill `snap gc` with SIGKILL at every fault point in turn: every complete snapshot stays intact
 * (folder == manifest, objects present and hashing to their names), and the next gc finishes
 * the job, leaving exactly the objects the live snapshots need.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { take } from '../../src/ops/take/take.js';
import { openRoot, lockRoot } from '../../src/ops/shared/root.js';
import { removeSnapshots } from '../../src/ops/shared/remove.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { verify } from '../../src/ops/verify/verify.js';
import { neededObjectFiles, objectDirListing, storeProblems } from '../helpers/store-check.js';

process.env.LINKSNAP_NO_SYNC = '1';

/** Five snapshots, three removed without gc (garbage), plus leftovers of killed runs. */
async function fixture(): Promise<{ root: string; live: string[] }> {
  const { root, latest } = newRoot();
  const now = steppingClock();
  fs.writeFileSync(path.join(latest, 'shared'), 'in every snapshot');
  const names: string[] = [];
  for (let i = 0; i < 5; i++) {
    fs.writeFileSync(path.join(latest, 'v'), `version ${i}`);
    names.push((await take(root, { now, keep: 100, racyWindowMs: 0 })).snapshot);
  }
  const r = openRoot(root);
  const lock = lockRoot(r, 'test');
  try {
    await removeSnapshots(r, names.slice(0, 3));
  } finally {
    lock.release();
    r.close();
  }
  const snap = path.join(root, '.snap');
  fs.writeFileSync(path.join(snap, 'tmp/1-00000000deadbeef'), 'half');
  fs.mkdirSync(path.join(snap, 'staging/2031-01-01_00.00.00/d'), { recursive: true });
  fs.mkdirSync(path.join(snap, 'objects/cd'), { recursive: true });
  fs.writeFileSync(path.join(snap, 'objects/cd', 'cd'.repeat(32) + '_600_0_0_5'), 'never committed');
  fs.writeFileSync(path.join(snap, 'objects/cd', 'cd'.repeat(32) + '_600_0_0_5_r1'), 'never committed either');
  return { root, live: names.slice(3) };
}

describe('gc killed at any point', () => {
  it('leaves a consistent store, and the next gc completes', async () => {
    let crashes = 0;
    for (let k = 1; k < 40; k++) {
      const { root, live } = await fixture();
      const r = runCli(['gc', root], { env: { LINKSNAP_CRASH_AFTER: String(k), LINKSNAP_NO_SYNC: '1' } });
      if (r.code === 0) break; // k passed every fault point
      expect(r.code, r.stderr).toBe(-1); // killed by SIGKILL, not an error
      crashes++;
      const v = await verify(root); // full: every object re-hashed
      expect(v.findings.filter((f) => f.severity === 'damage')).toEqual([]);
      expect(listSnapshots(root).map((s) => s.name)).toEqual(live);
      expect(storeProblems(root)).toEqual([]);
      const again = runCli(['gc', root, '--json'], { env: { LINKSNAP_NO_SYNC: '1' } });
      expect(again.code, again.stderr).toBe(0);
      expect(storeProblems(root)).toEqual([]);
      expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
      for (const d of ['tmp', 'staging', 'trash']) expect(fs.readdirSync(path.join(root, '.snap', d))).toEqual([]);
    }
    // rows deleted, 3 objects unlinked, 2 strays removed
    expect(crashes).toBeGreaterThanOrEqual(6);
  }, 120_000);
});

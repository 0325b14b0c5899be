import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { prune } from '../../src/ops/retention/prune.js';
import { setPinned } from '../../src/ops/retention/pin.js';
import { writeConfig } from '../../src/ops/setup/config.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { openRoot, lockRoot } from '../../src/ops/shared/root.js';
import { removeSnapshots, trashPath } from '../../src/ops/shared/remove.js';
import { emptyTrash } from '../../src/ops/shared/recover.js';
import { newRoot } from '../helpers/tmp.js';
import { diffTrees, readTree, type TreeInfo } from '../helpers/tree.js';
import { objectDirListing, neededObjectFiles, rootState, storeProblems } from '../helpers/store-check.js';

process.env.LINKSNAP_NO_SYNC = '1';

/** A clock that returns the given local times in turn. */
function clockOf(times: string[]): () => Date {
  let i = 0;
  return () => new Date(times[Math.min(i++, times.length - 1)]!);
}

/** Take one snapshot per local time; the file `day` changes each time, `same` never does. */
async function history(times: string[], keep = 1000): Promise<{ root: string; latest: string; trees: Map<string, TreeInfo> }> {
  const { root, latest } = newRoot();
  fs.writeFileSync(path.join(latest, 'same'), 'unchanging');
  const trees = new Map<string, TreeInfo>();
  for (const t of times) {
    fs.writeFileSync(path.join(latest, 'day'), `content of ${t}`);
    const src = readTree(latest);
    const r = await take(root, { now: clockOf([t]), keep, racyWindowMs: 0 });
    trees.set(r.snapshot, src);
  }
  return { root, latest, trees };
}

const dated = (root: string) => fs.readdirSync(root).filter((n) => /^\d{4}-/.test(n)).sort();

describe('snap prune', () => {
  const times = ['2026-01-05T03:00:00', '2026-01-06T03:00:00', '2026-01-06T15:00:00', '2026-01-07T03:00:00', '2026-01-12T03:00:00', '2026-02-01T03:00:00'];

  it('removes what the policy does not keep, frees their objects, and leaves the rest intact', async () => {
    const { root, trees } = await history(times);
    const r = await prune(root, { policy: { daily: 2, monthly: 2 } });
    // daily: Feb 1, Jan 12; monthly: Feb (Feb 1), Jan (Jan 12).
    expect(r.removed).toEqual(['2026-01-05_03.00.00', '2026-01-06_03.00.00', '2026-01-06_15.00.00', '2026-01-07_03.00.00']);
    expect(r.kept.map((k) => k.name)).toEqual(['2026-01-12_03.00.00', '2026-02-01_03.00.00']);
    expect(r.policySource).toBe('options');
    expect(r.freedObjects).toBe(4); // four versions of `day`; `same` is still used
    expect(r.freedBytes).toBe(4 * 'content of 2026-01-05T03:00:00'.length);
    expect(listSnapshots(root).map((s) => s.name)).toEqual(r.kept.map((k) => k.name));
    expect(dated(root)).toEqual(r.kept.map((k) => k.name));
    for (const k of r.kept) expect(diffTrees(trees.get(k.name)!, readTree(path.join(root, k.name)))).toEqual([]);
    expect(storeProblems(root)).toEqual([]);
    expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
    expect(fs.readdirSync(path.join(root, '.snap/trash'))).toEqual([]);
  });

  it('--dry-run changes nothing and says why each survivor stays', async () => {
    const { root } = await history(times);
    const before = rootState(root);
    const r = await prune(root, { policy: { last: 1, weekly: 2 }, dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.kept).toEqual([
      { name: '2026-01-12_03.00.00', pinned: false, reasons: [{ rule: 'weekly', period: '2026-W03', n: 2 }] },
      {
        name: '2026-02-01_03.00.00',
        pinned: false,
        reasons: [{ rule: 'last', period: '2026-02-01_03.00.00', n: 1 }, { rule: 'weekly', period: '2026-W05', n: 1 }, { rule: 'newest' }],
      },
    ]);
    expect(r.removed).toHaveLength(4);
    expect(r.freedObjects).toBe(4);
    expect(diffTrees(before, rootState(root))).toEqual([]);
    // The real run removes exactly what the dry run said, and frees what it predicted.
    const real = await prune(root, { policy: { last: 1, weekly: 2 } });
    expect(real.removed).toEqual(r.removed);
    expect([real.freedObjects, real.freedBytes]).toEqual([r.freedObjects, r.freedBytes]);
  });

  it('never removes pinned snapshots; unpinned they go', async () => {
    const { root } = await history(times);
    await setPinned(root, ['2026-01-05_03.00.00', path.join(root, '2026-01-07_03.00.00') + '/'], true);
    const r = await prune(root, { policy: { last: 1 } });
    expect(r.kept.map((k) => [k.name, k.pinned])).toEqual([
      ['2026-01-05_03.00.00', true],
      ['2026-01-07_03.00.00', true],
      ['2026-02-01_03.00.00', false],
    ]);
    expect(storeProblems(root)).toEqual([]);
    await setPinned(root, ['2026-01-05_03.00.00'], false);
    expect((await prune(root, { policy: { last: 1 } })).removed).toEqual(['2026-01-05_03.00.00']);
    expect(dated(root)).toEqual(['2026-01-07_03.00.00', '2026-02-01_03.00.00']);
  });

  it('uses the saved policy without options, else keep-last 16', async () => {
    const many = Array.from({ length: 18 }, (_, i) => `2026-03-${String(i + 1).padStart(2, '0')}T03:00:00`);
    const { root } = await history(many);
    const dflt = await prune(root, { dryRun: true });
    expect([dflt.policySource, dflt.policy, dflt.removed]).toEqual(['default', { last: 16 }, ['2026-03-01_03.00.00', '2026-03-02_03.00.00']]);
    await writeConfig(root, { set: [{ key: 'keep.weekly', value: '2' }] });
    const r = await prune(root);
    expect(r.policySource).toBe('saved');
    // ISO weeks: Mar 16-22 (W12, newest the 18th) and Mar 9-15 (W11, newest the 15th).
    expect(r.kept.map((k) => k.name)).toEqual(['2026-03-15_03.00.00', '2026-03-18_03.00.00']);
  });

  it('never touches dated folders the catalog does not know', async () => {
    const { root } = await history(times);
    fs.mkdirSync(path.join(root, '2020-01-01_00.00.00'));
    fs.writeFileSync(path.join(root, '2020-01-01_00.00.00/keepme'), 'seed script snapshot');
    await prune(root, { policy: { last: 1 } });
    expect(fs.readFileSync(path.join(root, '2020-01-01_00.00.00/keepme'), 'utf8')).toBe('seed script snapshot');
  });

  it('copes with a dated folder someone already deleted', async () => {
    const { root } = await history(times);
    fs.rmSync(path.join(root, '2026-01-05_03.00.00'), { recursive: true });
    const r = await prune(root, { policy: { last: 2 } });
    expect(r.removed).toContain('2026-01-05_03.00.00');
    expect(storeProblems(root)).toEqual([]);
  });

  it('moves folders aside under the lock and deletes them only afterwards', async () => {
    const { root } = await history(times.slice(0, 3));
    const r = openRoot(root);
    const lock = lockRoot(r, 'test');
    try {
      // An interrupted earlier delete left a folder of the same name in the trash.
      fs.mkdirSync(path.join(r.layout.trash, '2026-01-05_03.00.00'));
      fs.writeFileSync(path.join(r.layout.trash, '2026-01-05_03.00.00/x'), 'x');
      expect(path.basename(await trashPath(r.layout.trash, '2026-01-05_03.00.00'))).toBe('2026-01-05_03.00.00.1');
      await removeSnapshots(r, ['2026-01-05_03.00.00', '2026-01-06_03.00.00']);
      expect(dated(root)).toEqual(['2026-01-06_15.00.00']);
      expect(fs.readdirSync(r.layout.trash).sort()).toEqual(['2026-01-05_03.00.00', '2026-01-05_03.00.00.1', '2026-01-06_03.00.00']);
      expect(r.catalog.listSnapshots().map((s) => s.name)).toEqual(['2026-01-06_15.00.00']);
    } finally {
      lock.release();
      r.close();
    }
    await emptyTrash(r);
    expect(fs.readdirSync(r.layout.trash)).toEqual([]);
  });

  it('refuses bad policies and a missing store with one-line errors', async () => {
    const { root } = newRoot();
    await expect(prune(root, { policy: { daily: 0 } })).rejects.toThrow(/--keep-daily must be a positive integer/);
    await expect(prune(root, { policy: { daily: 1 } })).rejects.toMatchObject({ code: 'NOT_A_STORE' });
    await expect(prune(root, { dryRun: true })).rejects.toMatchObject({ code: 'NOT_A_STORE' });
  });
});

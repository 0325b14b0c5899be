import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { stats } from '../../src/ops/browse/stats.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { removeSnapshots } from '../../src/ops/shared/remove.js';
import { collectGarbage } from '../../src/ops/retention/collect-garbage.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';

describe('stats', () => {
  it('per snapshot: size, bytes added, and exactly what pruning it alone frees', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    fs.mkdirSync(path.join(latest, 'shared'));
    fs.writeFileSync(path.join(latest, 'shared/s'), 'S'.repeat(1000));
    fs.writeFileSync(path.join(latest, 'v'), 'A'.repeat(100));
    const s1 = await take(root, { now });
    fs.writeFileSync(path.join(latest, 'v'), 'B'.repeat(200));
    fs.copyFileSync(path.join(latest, 'shared/s'), path.join(latest, 'copy')); // same content, other mtime
    const s2 = await take(root, { now });
    await take(root, { now }); // identical to s2: s2 now holds nothing alone
    const r = await stats(root, { disk: true });
    expect(r.snapshots.map((s) => [s.name, s.files, s.bytes, s.addedBytes, s.exclusiveBytes])).toEqual([
      [s1.snapshot, 2, 1100, 1100, 100],
      [s2.snapshot, 3, 2200, 1200, 0],
      [expect.any(String), 3, 2200, 0, 0],
    ]);
    expect(r.store).toMatchObject({ objects: 4, contents: 3, storedBytes: 2300, logicalBytes: 5500, dedupRatio: 2.39, sharedObjects: 3, sharedBytes: 2200 });
    expect(r.store.diskBytes).toBeGreaterThan(0);

    // Prune s1 alone and gc: frees exactly what stats promised.
    const rw = openRoot(root);
    try {
      await removeSnapshots(rw, [s1.snapshot]);
      const gc = await collectGarbage(rw);
      expect(gc.bytes).toBe(100);
    } finally {
      rw.close();
    }
  });

  it('a folder shared by two snapshots and reused inside one is not exclusive', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    for (const d of ['a', 'b']) {
      fs.mkdirSync(path.join(latest, d));
      fs.writeFileSync(path.join(latest, d, 'f'), 'same');
      fs.utimesSync(path.join(latest, d, 'f'), new Date(2020, 1, 1), new Date(2020, 1, 1));
      fs.utimesSync(path.join(latest, d), new Date(2020, 1, 1), new Date(2020, 1, 1));
    }
    await take(root, { now });
    fs.rmSync(path.join(latest, 'a'), { recursive: true });
    await take(root, { now });
    const r = await stats(root);
    expect(r.snapshots.map((s) => s.exclusiveBytes)).toEqual([0, 0]);
    expect(r.store.sharedObjects).toBe(1);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { setPinned } from '../../src/ops/retention/pin.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { storeProblems } from '../helpers/store-check.js';

process.env.LINKSNAP_NO_SYNC = '1';

describe('snap pin / unpin', () => {
  it('pinned snapshots survive rotation on top of --keep, and go once unpinned', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    const made: string[] = [];
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(path.join(latest, 'f'), `v${i}`);
      made.push((await take(root, { now, keep: 5, racyWindowMs: 0 })).snapshot);
    }
    const p = await setPinned(root, [made[0]!, made[0]!], true);
    expect(p.snapshots).toEqual([{ name: made[0], pinned: true, changed: true }]);
    expect((await setPinned(root, [made[0]!], true)).snapshots[0]!.changed).toBe(false);
    for (let i = 3; i < 6; i++) {
      fs.writeFileSync(path.join(latest, 'f'), `v${i}`);
      made.push((await take(root, { now, keep: 2, racyWindowMs: 0 })).snapshot);
    }
    expect(listSnapshots(root).map((s) => [s.name, s.pinned])).toEqual([
      [made[0], true],
      [made[4], false],
      [made[5], false],
    ]);
    expect(fs.readFileSync(path.join(root, made[0]!, 'f'), 'utf8')).toBe('v0');
    expect(storeProblems(root)).toEqual([]);
    await setPinned(root, [made[0]!], false);
    fs.writeFileSync(path.join(latest, 'f'), 'v6');
    await take(root, { now, keep: 2, racyWindowMs: 0 });
    expect(listSnapshots(root).map((s) => s.name)).not.toContain(made[0]);
  });

  it('an unknown name changes nothing', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const s = (await take(root)).snapshot;
    await expect(setPinned(root, [s, '1999-01-01_00.00.00'], true)).rejects.toMatchObject({ code: 'NO_SNAPSHOT' });
    expect(listSnapshots(root)[0]!.pinned).toBe(false);
  });
});

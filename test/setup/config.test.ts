import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { readConfig, writeConfig } from '../../src/ops/setup/config.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';

process.env.LINKSNAP_NO_SYNC = '1';

const names = (root: string) => listSnapshots(root).map((s) => s.name);

describe('saved retention policy (snap config)', () => {
  it('is applied by take without --keep; --keep N overrides it for one run; unset falls back to 16', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    // Saved before the first take: the store is created for it.
    const c = await writeConfig(root, { set: [{ key: 'keep.daily', value: '2' }, { key: 'keep.last', value: '1' }] });
    expect(c).toMatchObject({ settings: { 'keep.daily': '2', 'keep.last': '1' }, policy: { daily: 2, last: 1 }, policySource: 'saved' });
    const now = steppingClock(new Date('2026-05-01T10:00:00'), 6 * 3600_000); // four takes a day
    for (let i = 0; i < 8; i++) await take(root, { now, racyWindowMs: 0 });
    // 10:00, 16:00, 22:00 on May 1, four on May 2, 04:00 on May 3. daily 2: newest of May 3 and May 2.
    expect(names(root)).toEqual(['2026-05-02_22.00.00', '2026-05-03_04.00.00']);
    await take(root, { now, keep: 1, racyWindowMs: 0 });
    expect(names(root)).toEqual(['2026-05-03_10.00.00']);

    const u = await writeConfig(root, { unset: ['keep.daily', 'keep.last'] });
    expect(u).toMatchObject({ settings: {}, policy: { last: 16 }, policySource: 'default', changed: ['keep.daily', 'keep.last'] });
    for (let i = 0; i < 17; i++) await take(root, { now, racyWindowMs: 0 });
    expect(names(root)).toHaveLength(16);
    expect(readConfig(root).policySource).toBe('default');
  });

  it('checks keys and values before changing anything', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    await take(root);
    await writeConfig(root, { set: [{ key: 'keep.weekly', value: '4' }] });
    await expect(writeConfig(root, { set: [{ key: 'keep.daily', value: '7' }, { key: 'keep.hourly', value: '0' }] })).rejects.toThrow(/keep.hourly must be a positive integer/);
    await expect(writeConfig(root, { set: [{ key: 'colour', value: 'blue' }] })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(writeConfig(root, { set: [{ key: 'keep.daily', value: '7' }], unset: ['keep.daily'] })).rejects.toThrow(/both set and unset/);
    expect(readConfig(root).settings).toEqual({ 'keep.weekly': '4' });
  });

  it('reports a damaged saved value instead of guessing', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    await take(root);
    const r = openRoot(root);
    r.catalog.setConfig('keep.daily', 'seven');
    r.close();
    expect(() => readConfig(root)).toThrow(/keep.daily="seven" is not a positive integer/);
  });

  it('is not created in a folder that is not a backup root', async () => {
    const dir = tempDir();
    await expect(writeConfig(dir, { set: [{ key: 'keep.daily', value: '7' }] })).rejects.toMatchObject({ code: 'NOT_A_STORE' });
    expect(fs.existsSync(path.join(dir, '.snap'))).toBe(false);
  });
});

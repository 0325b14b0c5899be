import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { pathLog } from '../../src/ops/browse/log.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';

describe('log', () => {
  it('tells when a path appeared, changed (with sizes) and disappeared', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    const f = path.join(latest, 'docs/r.txt');
    fs.mkdirSync(path.dirname(f));
    const s0 = await take(root, { now }); // not there yet
    fs.writeFileSync(f, 'v1');
    const s1 = await take(root, { now });
    const s2 = await take(root, { now }); // unchanged: no event
    fs.writeFileSync(f, 'version 2');
    const s3 = await take(root, { now });
    fs.chmodSync(f, 0o600);
    const s4 = await take(root, { now });
    fs.rmSync(f);
    const s5 = await take(root, { now, allowShrink: true }); // the source is empty now
    fs.writeFileSync(f, 'back');
    const s6 = await take(root, { now });
    const r = pathLog(root, 'docs/r.txt');
    expect(r.events.map((e) => [e.snapshot, e.event, e.size, e.oldSize, e.changes])).toEqual([
      [s1.snapshot, 'appeared', 2, undefined, undefined],
      [s3.snapshot, 'changed', 9, 2, expect.arrayContaining(['content', 'mtime'])],
      [s4.snapshot, 'changed', 9, undefined, ['mode']],
      [s5.snapshot, 'disappeared', undefined, 9, undefined],
      [s6.snapshot, 'appeared', 4, undefined, undefined],
    ]);
    expect(r.present).toBe(5);
    expect(r.snapshots).toBe(7);
    expect(r.presentIn).toEqual([s1, s2, s3, s4, s6].map((s) => s.snapshot));
    expect(s0.snapshot).not.toBe(s1.snapshot);
    // A folder: its contents changed.
    const d = pathLog(root, 'docs');
    expect(d.events[0]).toMatchObject({ event: 'appeared', kind: 'dir', files: 0 });
    expect(d.events.filter((e) => e.event === 'changed').every((e) => e.changes!.includes('contents'))).toBe(true);
    expect(pathLog(root, 'nope/never').events).toEqual([]);
    expect(() => pathLog(root, '')).toThrow(/give a path/);
  });
});


import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { findPaths } from '../../src/ops/browse/find.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';

describe('find', () => {
  it('lists matching paths and the snapshots holding them', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    fs.mkdirSync(path.join(latest, 'photos/2024'), { recursive: true });
    fs.writeFileSync(path.join(latest, 'photos/2024/a.jpg'), 'a');
    fs.writeFileSync(path.join(latest, 'photos/b.JPG'), 'b');
    fs.writeFileSync(path.join(latest, '.hidden.jpg'), 'h');
    fs.writeFileSync(Buffer.from(latest + '/x\xff.jpg', 'latin1'), 'weird');
    const s1 = await take(root, { now });
    fs.rmSync(path.join(latest, 'photos/2024/a.jpg'));
    const s2 = await take(root, { now });
    const r = findPaths(root, '*.jpg');
    expect(r.matches.map((m) => [m.path, m.snapshots.length])).toEqual([
      ['.hidden.jpg', 2],
      ['photos/2024/a.jpg', 1],
      ['x\\xff.jpg', 2],
    ]);
    expect(r.matches[1]!.snapshots).toEqual([s1.snapshot]);
    expect(r.snapshots).toEqual([
      { name: s1.snapshot, matches: 3 },
      { name: s2.snapshot, matches: 2 },
    ]);
    expect(findPaths(root, 'photos/**').matches.map((m) => m.path)).toEqual(['photos', 'photos/2024', 'photos/2024/a.jpg', 'photos/b.JPG']);
    expect(findPaths(root, 'photos/*.{jpg,JPG}').matches.map((m) => m.path)).toEqual(['photos/b.JPG']);
    expect(findPaths(root, 'photos/2024/a.jpg').matches.map((m) => m.snapshots)).toEqual([[s1.snapshot]]);
    expect(findPaths(root, 'nothing*').matches).toEqual([]);
  });
});

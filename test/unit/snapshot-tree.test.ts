import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { getSnapshotOrThrow, lookupPath, walkTree } from '../../src/ops/shared/snapshot-tree.js';
import { Kind } from '../../src/model/entry.js';
import { newRoot } from '../helpers/tmp.js';

describe('snapshot trees from the catalog', () => {
  it('walks depth first in byte order and looks up paths', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'b/c'), { recursive: true });
    fs.writeFileSync(path.join(latest, 'b/c/f'), 'x');
    fs.writeFileSync(path.join(latest, 'a'), 'y');
    const r = await take(root);
    const ro = openRoot(root, { readonly: true });
    try {
      const snap = getSnapshotOrThrow(ro.catalog, r.snapshot);
      expect([...walkTree(ro.catalog, snap.rootTree)].map((w) => `${w.depth}:${w.rel}`)).toEqual(['1:a', '1:b', '2:b/c', '3:b/c/f']);
      expect(lookupPath(ro.catalog, snap, [Buffer.from('b'), Buffer.from('c'), Buffer.from('f')])?.kind).toBe(Kind.File);
      expect(lookupPath(ro.catalog, snap, [Buffer.from('a'), Buffer.from('x')])).toBeUndefined();
      expect(lookupPath(ro.catalog, snap, [])?.subtree).toBe(snap.rootTree);
      expect(() => getSnapshotOrThrow(ro.catalog, 'nope')).toThrow(/no snapshot named nope/);
    } finally {
      ro.close();
    }
  });

  it('refuses hostile names planted in the catalog', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'y');
    const r = await take(root);
    const rw = openRoot(root);
    try {
      rw.catalog.db.prepare(`UPDATE entries SET name = ? WHERE name = ?`).run(Buffer.from('../../etc/passwd'), Buffer.from('a'));
      const snap = getSnapshotOrThrow(rw.catalog, r.snapshot);
      expect(() => [...walkTree(rw.catalog, snap.rootTree)]).toThrow(/unsafe name/);
    } finally {
      rw.close();
    }
  });
});

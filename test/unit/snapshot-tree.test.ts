import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { MAX_TREE_DEPTH, TreeGuard, getSnapshotOrThrow, lookupPath, walkSnapshot } from '../../src/ops/shared/snapshot-tree.js';
import { SnapError } from '../../src/errors.js';
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
      expect([...walkSnapshot(ro.catalog, snap)].map((w) => `${w.depth}:${w.rel}`)).toEqual(['1:a', '1:b', '2:b/c', '3:b/c/f']);
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
      expect(() => [...walkSnapshot(rw.catalog, snap)]).toThrow(/unsafe name/);
    } finally {
      rw.close();
    }
  });

  it('the guard refuses a folder that is its own ancestor, and a chain deeper than MAX_TREE_DEPTH', () => {
    const top = TreeGuard.top('2026-01-01_00.00.00', 1);
    const a = top.enter(2, Buffer.from('a'));
    const b = a.enter(3, Buffer.from('a/b'));
    expect(b.depth).toBe(2);
    expect(() => b.enter(2, Buffer.from('a/b/c'))).toThrow(/of 2026-01-01_00\.00\.00 form a cycle at a\/b\/c/);
    expect(() => b.enter(1, Buffer.from('a/b/c'))).toThrow(SnapError);
    expect(b.tryEnter(4, Buffer.from('a/b/c'))).toBeInstanceOf(TreeGuard); // siblings may share trees; only ancestors count
    expect(a.enter(3, Buffer.from('a/b2')).tree).toBe(3);
    let g = top;
    for (let i = 0; i < MAX_TREE_DEPTH; i++) g = g.enter(100 + i, Buffer.from('d'));
    expect(g.tryEnter(99, Buffer.from('d'))).toMatch(/nest deeper than 2048 levels/);
  });
});

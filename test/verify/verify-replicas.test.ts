/**
 * Objects with link-limit replicas (`_r1`, `_r2`…): verify accepts a link to any replica, checks
 * every replica's content, and repair and materialize keep working through them. The link limit
 * is simulated (LINKSNAP_TEST_LINK_LIMIT, read when objects.ts loads).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

process.env.LINKSNAP_TEST_LINK_LIMIT = '3';
const { verify } = await import('../../src/ops/verify/verify.js');
const { materialize } = await import('../../src/ops/verify/materialize.js');
const { makeFixture, objectFileOf, editInPlace, snapshotTrees } = await import('../helpers/verify-fixture.js');
const { diffTrees, readTree } = await import('../helpers/tree.js');

describe('verify with link-limit replicas', () => {
  it('is clean, finds a damaged replica, heals it, and rebuilds folders through replicas', async () => {
    const f = await makeFixture();
    const r0 = objectFileOf(f.root, f.snaps[0]!, 'docs/a.txt', 0);
    const r1 = objectFileOf(f.root, f.snaps[0]!, 'docs/a.txt', 1);
    expect(fs.existsSync(r1)).toBe(true); // 6 paths share a.txt: more than 3 links per inode
    const clean = await verify(f.root);
    expect(clean.findings.filter((x) => x.severity === 'damage')).toEqual([]);

    const before = snapshotTrees(f);
    editInPlace(r1, 'ALPHA'); // only the paths linked to replica 1 see it
    const r = await verify(f.root);
    const x = r.findings.find((y) => y.kind === 'object-content')!;
    expect(x.message).toMatch(/replica 1/);
    expect(x.paths).toHaveLength(6); // every path of the object is named
    const rep = await verify(f.root, { repair: true });
    expect(rep.damaged).toBe(false);
    expect(fs.readFileSync(r1, 'utf8')).toBe('alpha alpha\n');
    expect(fs.readFileSync(r0, 'utf8')).toBe('alpha alpha\n');
    for (const s of f.snaps) expect(diffTrees(before.get(s)!, readTree(path.join(f.root, s)))).toEqual([]);
    expect((await verify(f.root)).damaged).toBe(false);

    fs.rmSync(path.join(f.root, f.snaps[1]!), { recursive: true });
    const m = await materialize(f.root);
    expect(m.snapshots.map((s) => s.name)).toEqual([f.snaps[1]]);
    expect((await verify(f.root)).damaged).toBe(false);
  });
});

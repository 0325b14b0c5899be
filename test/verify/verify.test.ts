/**
 * `verify` finds each kind of damage, with the right kind and every affected snapshot and path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verify, type Finding, type VerifyReport } from '../../src/ops/verify/verify.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { SnapError } from '../../src/errors.js';
import { editInPlace, makeFixture, objectFileOf, NONUTF8 } from '../helpers/verify-fixture.js';

function damage(r: VerifyReport): Finding[] {
  return r.findings.filter((f) => f.severity === 'damage');
}

function only(r: VerifyReport, kind: string): Finding {
  const fs_ = damage(r).filter((f) => f.kind === kind);
  expect(fs_, JSON.stringify(damage(r), null, 1)).toHaveLength(1);
  return fs_[0]!;
}

describe('snap verify', () => {
  it('finds nothing wrong in a fresh store, and records when each object was verified', async () => {
    const f = await makeFixture();
    const r = await verify(f.root);
    expect(damage(r)).toEqual([]);
    expect(r.damaged).toBe(false);
    expect(r.snapshots).toEqual(f.snaps);
    expect(r.counts.objectsHashed).toBe(r.counts.objects);
    expect(r.counts.objects).toBe(7); // a.txt, shared, big, odd, 3 x change
    expect(r.verifiedRecorded).toBe(true);
    const ro = openRoot(f.root, { readonly: true });
    try {
      const nulls = ro.catalog.db.prepare('SELECT count(*) AS n FROM objects WHERE verified_ns IS NULL').get() as { n: number };
      expect(nulls.n).toBe(0);
    } finally {
      ro.close();
    }
    const q = await verify(f.root, { quick: true });
    expect(q.damaged).toBe(false);
    expect(q.counts.objectsHashed).toBe(0);
  });

  it('reports an in-place edit through one link once, naming every snapshot and path sharing the blob', async () => {
    const f = await makeFixture();
    editInPlace(path.join(f.root, f.snaps[1]!, 'docs/a.txt'), 'ALPHA'); // same inode in all 3 snapshots, and copy/a.txt
    const r = await verify(f.root);
    expect(r.damaged).toBe(true);
    const x = only(r, 'object-content');
    expect(x.snapshots.sort()).toEqual([...f.snaps].sort());
    const expected = f.snaps.flatMap((s) => [`${s}/copy/a.txt`, `${s}/docs/a.txt`]);
    expect([...x.paths].sort()).toEqual(expected.sort());
    expect(x.object).toMatch(/^[0-9a-f]{64}_644_/);
    // --quick reads no content: an edit that kept size and mtime goes unnoticed there (by design)
    const q = await verify(f.root, { quick: true });
    expect(q.damaged).toBe(false);
  });

  it('sees an edit that changed the size or mtime even with --quick', async () => {
    const f = await makeFixture();
    const p = path.join(f.root, f.snaps[0]!, 'shared.txt');
    fs.appendFileSync(p, 'more');
    const q = await verify(f.root, { quick: true });
    const x = only(q, 'object-size');
    expect(x.snapshots).toHaveLength(3);
    expect(x.message).toMatch(/mtime/); // the append moved the mtime too
  });

  it('reports a chmod through a link as object metadata drift, for every sharer', async () => {
    const f = await makeFixture();
    fs.chmodSync(path.join(f.root, f.snaps[2]!, 'shared.txt'), 0o666);
    const r = await verify(f.root, { quick: true });
    const x = only(r, 'object-metadata');
    expect(x.message).toMatch(/mode 0666, expected 0640/);
    expect(x.paths.sort()).toEqual(f.snaps.map((s) => `${s}/shared.txt`).sort());
  });

  it('reports missing, replaced, extra, wrong-kind and changed paths in a dated folder', async () => {
    const f = await makeFixture();
    const s = path.join(f.root, f.snaps[0]!);
    fs.rmSync(path.join(s, 'change.txt'));
    // the same bytes, but a new inode: not the snapshot's file any more
    fs.rmSync(path.join(s, 'docs/a.txt'));
    fs.writeFileSync(path.join(s, 'docs/a.txt'), 'alpha alpha\n');
    fs.writeFileSync(path.join(s, 'docs/intruder'), 'x');
    fs.rmSync(path.join(s, 'empty'), { recursive: true });
    fs.writeFileSync(path.join(s, 'empty'), 'now a file');
    fs.rmSync(path.join(s, 'link'));
    fs.symlinkSync('/etc/passwd', path.join(s, 'link'));
    fs.chmodSync(path.join(s, 'copy'), 0o777);
    const r = await verify(f.root);
    const n = f.snaps[0]!;
    const byKind = (k: string) => damage(r).filter((x) => x.kind === k).flatMap((x) => x.paths).sort();
    expect(byKind('entry-missing')).toEqual([`${n}/change.txt`]);
    expect(byKind('entry-replaced')).toEqual([`${n}/docs/a.txt`]);
    expect(byKind('entry-extra')).toEqual([`${n}/docs/intruder`]);
    expect(byKind('entry-kind')).toEqual([`${n}/empty`]);
    expect(byKind('symlink-target')).toEqual([`${n}/link`]);
    // copy: chmod; docs and the top: their mtimes moved when entries were added/removed; the
    // new symlink has a new mtime
    expect(byKind('entry-metadata')).toEqual([n, `${n}/copy`, `${n}/docs`, `${n}/link`]);
    expect(damage(r).every((x) => x.snapshots.length === 1 && x.snapshots[0] === n)).toBe(true);
  });

  it('reports a missing dated folder, and a missing, truncated or non-regular object', async () => {
    const f = await makeFixture();
    fs.rmSync(path.join(f.root, f.snaps[2]!), { recursive: true });
    const big = objectFileOf(f.root, f.snaps[0]!, 'docs/deep/big.bin');
    fs.truncateSync(big, 10);
    const odd = objectFileOf(f.root, f.snaps[0]!, NONUTF8);
    fs.rmSync(odd);
    const ch = objectFileOf(f.root, f.snaps[1]!, 'change.txt');
    fs.rmSync(ch);
    fs.symlinkSync('/etc/hostname', ch);
    const r = await verify(f.root, { quick: true });
    expect(only(r, 'folder-missing').paths).toEqual([f.snaps[2]]);
    expect(only(r, 'object-size').paths.sort()).toEqual(f.snaps.map((s) => `${s}/docs/deep/big.bin`).sort());
    expect(only(r, 'object-missing').paths.sort()).toEqual(f.snaps.map((s) => `${s}/n\\xff\\x0am`).sort());
    const nr = only(r, 'object-not-regular');
    expect(nr.paths).toEqual([`${f.snaps[1]}/change.txt`]);
    expect(nr.message).toMatch(/symlink/);
  });

  it('detects bit rot that kept size and mtime only when reading content', async () => {
    const f = await makeFixture();
    const obj = objectFileOf(f.root, f.snaps[0]!, 'docs/deep/big.bin');
    editInPlace(obj, Buffer.from([0x04]));
    expect((await verify(f.root, { quick: true })).damaged).toBe(false);
    const r = await verify(f.root);
    expect(only(r, 'object-content').paths).toHaveLength(3);
  });

  it('checks the catalog: missing object rows and unsafe names are invariant violations', async () => {
    const f = await makeFixture();
    const rw = openRoot(f.root);
    try {
      rw.catalog.db.prepare(`DELETE FROM objects WHERE size = 14`).run(); // shared.txt
      rw.catalog.db.prepare(`UPDATE entries SET name = ? WHERE name = ?`).run(Buffer.from('../escape'), Buffer.from('link'));
    } finally {
      rw.close();
    }
    const r = await verify(f.root);
    const inv = damage(r).filter((x) => x.kind === 'catalog-invariant');
    expect(inv.some((x) => /no objects row/.test(x.message) && x.paths.length === 3)).toBe(true);
    expect(inv.some((x) => /unsafe name/.test(x.message))).toBe(true);
    expect(r.damaged).toBe(true);
  });

  it('reports leftovers as information, not damage', async () => {
    const f = await makeFixture();
    fs.mkdirSync(path.join(f.root, '.snap/staging/2020-01-01_00.00.00'));
    fs.writeFileSync(path.join(f.root, '.snap/tmp/123-abc'), 'x');
    fs.mkdirSync(path.join(f.root, '.snap/objects/ab'), { recursive: true });
    fs.writeFileSync(path.join(f.root, '.snap/objects/ab/not-an-object'), 'x');
    // A link-limit replica the catalog does not count, beside a known object: only it is stray.
    const fan = fs.readdirSync(path.join(f.root, '.snap/objects')).find((d) => d !== 'ab')!;
    const known = fs.readdirSync(path.join(f.root, '.snap/objects', fan))[0]!;
    fs.writeFileSync(path.join(f.root, '.snap/objects', fan, `${known}_r1`), 'x');
    const r = await verify(f.root);
    expect(r.damaged).toBe(false);
    expect(r.findings.map((x) => x.kind).sort()).toEqual(['staging-leftover', 'stray-object-file', 'stray-object-file', 'tmp-leftover']);
    expect(r.findings.flatMap((x) => (x.kind === 'stray-object-file' ? x.paths : [])).sort()).toEqual(
      [path.join('.snap/objects', fan, `${known}_r1`), '.snap/objects/ab/not-an-object'].sort(),
    );
  });

  it('--sample hashes the least recently verified objects first, rolling over the store', async () => {
    const f = await makeFixture();
    const a = await verify(f.root, { samplePercent: 50 });
    expect(a.counts.objectsHashed).toBe(4); // ceil(7 * 50%)
    const b = await verify(f.root, { samplePercent: 50 });
    expect(b.counts.objectsHashed).toBe(4);
    const ro = openRoot(f.root, { readonly: true });
    try {
      const nulls = ro.catalog.db.prepare('SELECT count(*) AS n FROM objects WHERE verified_ns IS NULL').get() as { n: number };
      expect(nulls.n).toBe(0); // 4 + 4 >= 7: every object was read once
    } finally {
      ro.close();
    }
    // damage in the never-sampled part is found by the sample that reaches it
    const obj = objectFileOf(f.root, f.snaps[0]!, 'docs/deep/big.bin');
    editInPlace(obj, Buffer.from([0x04]));
    let found = false;
    for (let i = 0; i < 2 && !found; i++) found = (await verify(f.root, { samplePercent: 50 })).damaged;
    expect(found).toBe(true);
  });

  it('verifies only the named snapshots, and refuses unknown names and bad options', async () => {
    const f = await makeFixture();
    fs.rmSync(path.join(f.root, f.snaps[0]!, 'change.txt'));
    expect((await verify(f.root, { snapshots: [f.snaps[1]!] })).damaged).toBe(false);
    const r = await verify(f.root, { snapshots: [f.snaps[0]!] });
    expect(r.snapshots).toEqual([f.snaps[0]]);
    expect(only(r, 'entry-missing').paths).toEqual([`${f.snaps[0]}/change.txt`]);
    await expect(verify(f.root, { snapshots: ['2000-01-01_00.00.00'] })).rejects.toThrow(SnapError);
    await expect(verify(f.root, { quick: true, samplePercent: 5 })).rejects.toThrow(/exclude/);
    await expect(verify(f.root, { samplePercent: 0 })).rejects.toThrow(/percentage/);
  });
});

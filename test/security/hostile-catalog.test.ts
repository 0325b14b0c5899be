/**
 * A corrupt or hostile catalog or store can never make verify, repair or materialize write
 * outside the root or through a symlink: names with `..`, `/` or absolute paths, a symlinked
 * folder planted in a dated folder, a hostile snapshot name, an object replaced by a symlink, a
 * cyclic tree. Each fails with a clear error or is reported, and the outside stays untouched.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verify } from '../../src/ops/verify/verify.js';
import { materialize } from '../../src/ops/verify/materialize.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { SnapError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';
import { editInPlace, fullState, makeFixture, objectFileOf, type Fixture } from '../helpers/verify-fixture.js';

function sql(root: string, fn: (db: ReturnType<typeof openRoot>['catalog']['db']) => void): void {
  const rw = openRoot(root);
  try {
    fn(rw.catalog.db);
  } finally {
    rw.close();
  }
}

function rootTreeOf(root: string, snap: string): number {
  const ro = openRoot(root, { readonly: true });
  try {
    return ro.catalog.getSnapshot(snap)!.rootTree;
  } finally {
    ro.close();
  }
}

/** A folder beside the root (inside the test's temp area) that must never change. */
function outside(): { dir: string; state: () => string[] } {
  const dir = tempDir('linksnap-outside-');
  fs.writeFileSync(path.join(dir, 'a.txt'), 'decoy');
  fs.writeFileSync(path.join(dir, 'escape'), 'decoy');
  return { dir, state: () => fullState(dir) };
}

function parentListing(f: Fixture): string[] {
  return fs.readdirSync(path.dirname(f.root)).filter((n) => !n.startsWith('linksnap-')).sort();
}

describe('hostile catalogs and stores', () => {
  for (const bad of ['../escape', '../../escape', '/tmp/escape', 'a/../../escape', '..', '.']) {
    it(`refuses the entry name ${JSON.stringify(bad)}: verify reports it, materialize writes nothing`, async () => {
      const f = await makeFixture();
      const out = outside();
      const before = out.state();
      const listing = parentListing(f);
      sql(f.root, (db) => db.prepare(`UPDATE entries SET name = ? WHERE name = ?`).run(Buffer.from(bad), Buffer.from('change.txt')));
      const r = await verify(f.root);
      expect(r.damaged).toBe(true);
      expect(r.findings.some((x) => x.kind === 'catalog-invariant' && /unsafe name/.test(x.message))).toBe(true);
      const snapState = fullState(path.join(f.root, f.snaps[0]!));
      const err = await materialize(f.root, { all: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SnapError);
      expect((err as SnapError).code).toBe('UNSAFE_PATH');
      await expect(materialize(f.root, { snapshots: [f.snaps[0]!], to: path.join(out.dir, 'restore') })).rejects.toThrow(/unsafe name/);
      // the repair does not rebuild a snapshot whose manifest is unsafe
      const rep = await verify(f.root, { repair: true });
      expect(rep.damaged).toBe(true);
      expect(fullState(path.join(f.root, f.snaps[0]!))).toEqual(snapState);
      expect(out.state()).toEqual(before.concat()); // nothing new beside the decoys
      expect(fs.existsSync(path.join(out.dir, 'restore'))).toBe(false);
      expect(fs.readdirSync(out.dir).filter((n) => n.startsWith('.'))).toEqual([]); // no build folder left
      expect(parentListing(f)).toEqual(listing);
      expect(fs.existsSync('/tmp/escape')).toBe(false);
      expect(fs.readdirSync(path.join(f.root, '.snap/staging'))).toEqual([]);
    });
  }

  it('never writes through a symlinked folder planted in a dated folder', async () => {
    const f = await makeFixture();
    const out = outside();
    const before = out.state();
    const docs = path.join(f.root, f.snaps[0]!, 'docs');
    fs.rmSync(docs, { recursive: true });
    fs.symlinkSync(out.dir, docs);
    // snapshot 0 also gets an unsafe name, so the repair cannot rebuild it and would have to
    // re-link docs/a.txt in place after healing its object: it must refuse the symlinked folder
    sql(f.root, (db) =>
      db.prepare(`UPDATE entries SET name = ? WHERE tree = ? AND name = ?`).run(Buffer.from('../x'), rootTreeOf(f.root, f.snaps[0]!), Buffer.from('link')),
    );
    editInPlace(path.join(f.root, f.snaps[1]!, 'docs/a.txt'), 'ALPHA');
    const r = await verify(f.root);
    expect(r.findings.some((x) => x.kind === 'entry-kind' && x.paths.includes(`${f.snaps[0]}/docs`))).toBe(true);
    const rep = await verify(f.root, { repair: true });
    expect(rep.findings.find((x) => x.kind === 'object-content')?.repaired).toBe(true);
    expect(out.state()).toEqual(before);
    expect(fs.lstatSync(docs).isSymbolicLink()).toBe(true); // left for the user; reported

    // without the unsafe name, the repair rebuilds the folder: the symlink is moved, not followed
    sql(f.root, (db) =>
      db.prepare(`UPDATE entries SET name = ? WHERE tree = ? AND name = ?`).run(Buffer.from('link'), rootTreeOf(f.root, f.snaps[0]!), Buffer.from('../x')),
    );
    const rep2 = await verify(f.root, { repair: true });
    expect(rep2.damaged).toBe(false);
    expect(fs.lstatSync(docs).isDirectory()).toBe(true);
    expect(out.state()).toEqual(before);
  });

  it('refuses a hostile snapshot name from the catalog', async () => {
    const f = await makeFixture();
    const listing = parentListing(f);
    sql(f.root, (db) => db.prepare(`UPDATE snapshots SET name = ? WHERE name = ?`).run('../evil', f.snaps[0]));
    const r = await verify(f.root);
    expect(r.findings.some((x) => x.kind === 'catalog-invariant' && /unsafe snapshot name/.test(x.message))).toBe(true);
    await expect(materialize(f.root, { all: true })).rejects.toThrow(/refusing snapshot name/);
    await verify(f.root, { repair: true });
    expect(parentListing(f)).toEqual(listing);
    expect(fs.existsSync(path.join(path.dirname(f.root), 'evil'))).toBe(false);
  });

  it('does not follow an object replaced by a symlink; the repair moves the symlink away', async () => {
    const f = await makeFixture();
    const out = outside();
    const before = out.state();
    const obj = objectFileOf(f.root, f.snaps[0]!, 'shared.txt');
    fs.rmSync(obj);
    fs.symlinkSync(path.join(out.dir, 'a.txt'), obj);
    const r = await verify(f.root);
    expect(r.findings.find((x) => x.kind === 'object-not-regular')?.paths).toHaveLength(3);
    const rep = await verify(f.root, { repair: true });
    expect(rep.damaged).toBe(false);
    expect(fs.lstatSync(obj).isFile()).toBe(true);
    expect(out.state()).toEqual(before);
  });

  it('survives a cyclic tree: verify reports it, materialize fails cleanly', async () => {
    const f = await makeFixture();
    sql(f.root, (db) => {
      const docs = db.prepare(`SELECT subtree FROM entries WHERE name = ?`).get(Buffer.from('docs')) as { subtree: number };
      db.prepare(`UPDATE entries SET subtree = ? WHERE name = ?`).run(docs.subtree, Buffer.from('deep'));
    });
    const r = await verify(f.root);
    expect(r.findings.some((x) => x.kind === 'catalog-invariant' && /cycle/.test(x.message))).toBe(true);
    await expect(materialize(f.root, { snapshots: [f.snaps[0]!] })).rejects.toThrow(/form a cycle at docs\/deep/);
    expect(fs.readdirSync(path.join(f.root, '.snap/staging'))).toEqual([]);
  });
});

/**
 * The catalog invariant check (src/catalog/invariants.ts) that verify and pull share: a clean
 * catalog has no problem, and each kind of damage or tampering is found, named, and traced to
 * the snapshots whose folders would hold it.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/catalog.js';
import fc from 'fast-check';
import { catalogInvariantProblems, MAX_LISTED, MAYBE_UNSAFE_NAME, type CatalogProblem } from '../../src/catalog/invariants.js';
import { isSafeName } from '../../src/util/paths.js';
import { HASH_BYTES } from '../../src/store/hasher.js';
import { MAX_TREE_DEPTH } from '../../src/ops/shared/snapshot-tree.js';
import { verify } from '../../src/ops/verify/verify.js';
import { makeFixture, type Fixture } from '../helpers/verify-fixture.js';

function problems(f: Fixture, maxTreeDepth = MAX_TREE_DEPTH): CatalogProblem[] {
  const cat = Catalog.open(path.join(f.root, '.snap/catalog.db'), { readonly: true });
  try {
    return catalogInvariantProblems(cat, { sqlite: 'integrity', hashBytes: HASH_BYTES, maxTreeDepth });
  } finally {
    cat.close();
  }
}

function tamper(f: Fixture, sql: (db: Database.Database) => void): void {
  const db = new Database(path.join(f.root, '.snap/catalog.db'));
  try {
    db.pragma('foreign_keys = OFF'); // tampering, not a linksnap write
    sql(db);
  } finally {
    db.close();
  }
}

const kinds = (ps: CatalogProblem[]) => ps.map((p) => p.kind);
const treeOf = (db: Database.Database, name: string) => (db.prepare(`SELECT tree FROM entries WHERE name = ?`).get(Buffer.from(name)) as { tree: number }).tree;
const subtreeOf = (db: Database.Database, name: string) => (db.prepare(`SELECT subtree FROM entries WHERE name = ?`).get(Buffer.from(name)) as { subtree: number }).subtree;

describe('catalog invariants', () => {
  it('a catalog made by takes has none', async () => {
    expect(problems(await makeFixture())).toEqual([]);
  });

  it('checks snapshot names in every state, and the root tree of every row', async () => {
    const f = await makeFixture();
    tamper(f, (db) => {
      db.prepare(`INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns) SELECT '.latest', 1, 'deleting', root_tree, root_mode, root_uid, root_gid, root_mtime_ns FROM snapshots LIMIT 1`).run();
      db.prepare(`UPDATE snapshots SET root_tree = 999999 WHERE name = ?`).run(f.snaps[2]);
    });
    const ps = problems(f);
    expect(kinds(ps)).toEqual(['snapshot-name', 'snapshot-tree']);
    expect(ps[0]).toMatchObject({ snapshot: '.latest', snapshots: ['.latest'], message: 'snapshot name ".latest" (being removed) is not a dated-folder name (YYYY-MM-DD_HH.MM.SS)' });
    expect(ps[1]).toMatchObject({ snapshot: f.snaps[2] });
  });

  it('finds unsafe entry names and names not stored as bytes, and the snapshots holding them', async () => {
    const f = await makeFixture();
    tamper(f, (db) => {
      db.prepare(`UPDATE entries SET name = ? WHERE name = ?`).run(Buffer.from('..'), Buffer.from('a.txt'));
      db.prepare(`UPDATE entries SET name = '../text' WHERE name = ?`).run(Buffer.from('shared.txt'));
    });
    const ps = problems(f);
    expect(kinds(ps).sort()).toEqual(['entry-name', 'entry-name', 'entry-type', 'entry-type', 'entry-type']); // shared.txt: in each root tree
    const dotdot = ps.filter((p) => p.kind === 'entry-name');
    // docs/a.txt and copy/a.txt: two trees, both in every snapshot
    expect(dotdot.map((p) => p.message)).toEqual(dotdot.map((p) => `unsafe entry name ".." in tree ${p.tree}`));
    for (const p of dotdot) expect([...p.snapshots].sort()).toEqual([...f.snaps].sort());
    expect(ps.find((p) => p.kind === 'entry-type')!.message).toMatch(/"\.\.\/text" of tree \d+: its name is not stored as bytes/);
  });

  it('finds dangling references, bad kinds, metadata out of range and files without a valid hash', async () => {
    const f = await makeFixture();
    tamper(f, (db) => {
      db.prepare(`UPDATE entries SET subtree = 999999 WHERE name = ?`).run(Buffer.from('empty'));
      db.prepare(`UPDATE entries SET kind = 7 WHERE name = ?`).run(Buffer.from('link'));
      db.prepare(`UPDATE entries SET mode = 65536 WHERE name = ?`).run(Buffer.from('copy'));
      db.prepare(`UPDATE entries SET hash = x'00' WHERE name = ?`).run(Buffer.from('big.bin'));
    });
    const ps = problems(f);
    // empty, link and copy are entries of each snapshot's root tree; big.bin of one shared tree
    expect(kinds(ps).sort()).toEqual(['entry-dir', 'entry-dir', 'entry-dir', 'entry-file', 'entry-kind', 'entry-kind', 'entry-kind', 'entry-meta', 'entry-meta', 'entry-meta']);
    expect(ps.find((p) => p.kind === 'entry-file')!.message).toMatch(/^entry "big\.bin" of tree \d+: a file without a valid content hash$/);
  });

  it('finds a cycle of folders, and snapshots nested deeper than the walkers accept', async () => {
    const f = await makeFixture();
    expect(kinds(problems(f, 2))).toEqual(['tree-depth', 'tree-depth', 'tree-depth']); // docs/deep/big.bin is 3 levels
    tamper(f, (db) => db.prepare(`UPDATE entries SET subtree = ? WHERE name = ?`).run(subtreeOf(db, 'docs'), Buffer.from('deep')));
    const ps = problems(f);
    expect(kinds(ps)).toEqual(['tree-cycle']);
    expect(ps[0]!.message).toMatch(/^tree \d+ holds tree \d+, which contains it: a cycle of folders$/);
    expect([...ps[0]!.snapshots].sort()).toEqual([...f.snaps].sort());
  });

  it('finds malformed objects rows: a hash that is not 32 bytes, text, a mode out of range', async () => {
    const f = await makeFixture();
    tamper(f, (db) => {
      db.prepare(`INSERT INTO objects (hash, mode, uid, gid, mtime_us, size) VALUES (x'abcd', 420, 0, 0, 1, 1)`).run();
      db.prepare(`INSERT INTO objects (hash, mode, uid, gid, mtime_us, size) VALUES ('../../etc/passwd', 420, 0, 0, 1, 1)`).run();
      db.prepare(`INSERT INTO objects (hash, mode, uid, gid, mtime_us, size) VALUES (zeroblob(32), 70000, 0, 0, 1, 1)`).run();
    });
    expect(kinds(problems(f))).toEqual(['object-key', 'object-key', 'object-key']);
  });

  it('narrows names in SQL to a superset of what isSafeName refuses (which then decides)', () => {
    const db = new Database(':memory:');
    const st = db.prepare(`SELECT ${MAYBE_UNSAFE_NAME} AS maybe FROM (SELECT ? AS name)`);
    const byte = fc.oneof(fc.constantFrom(0, 0x2e, 0x2f, 0x61, 0xff), fc.integer({ min: 0, max: 255 }));
    const name = fc.oneof(fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a)), fc.array(byte, { maxLength: 300 }).map((a) => Buffer.from(a)));
    fc.assert(
      fc.property(name, (n) => {
        if (!isSafeName(n)) expect(st.get(n), JSON.stringify([...n])).toEqual({ maybe: 1 });
      }),
      { numRuns: 2000 },
    );
    for (const n of ['', '.', '..', 'a/b', 'a\0b', 'x'.repeat(256)]) expect(st.get(Buffer.from(n))).toEqual({ maybe: 1 });
    db.close();
  });

  it(`lists at most ${MAX_LISTED} problems of one kind, and counts the rest`, async () => {
    const f = await makeFixture();
    tamper(f, (db) => {
      const tree = treeOf(db, 'a.txt');
      const ins = db.prepare(`INSERT INTO entries (tree, name, kind, mode, uid, gid, mtime_ns, size, target) VALUES (?, ?, 3, 511, 0, 0, 0, 1, x'61')`);
      for (let i = 0; i < MAX_LISTED + 20; i++) ins.run(tree, Buffer.from(`bad/${i}`));
    });
    const ps = problems(f);
    expect(ps).toHaveLength(MAX_LISTED + 1);
    expect(ps.at(-1)!.message).toBe('… and 20 more problems of this kind (entry-name)');
  });

  it('verify reports a problem in a tree no snapshot reaches, and an unsafe name of a snapshot being removed', async () => {
    const f = await makeFixture();
    tamper(f, (db) => {
      db.prepare(`INSERT INTO trees (digest, files, dirs, bytes) VALUES (x'00', 0, 0, 0)`).run();
      const id = (db.prepare(`SELECT id FROM trees WHERE digest = x'00'`).get() as { id: number }).id;
      db.prepare(`INSERT INTO entries (tree, name, kind, mode, uid, gid, mtime_ns, size, subtree) VALUES (?, ?, 2, 493, 0, 0, 0, 0, 424242)`).run(id, Buffer.from('lost'));
      db.prepare(`INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns) SELECT '../victim', 1, 'deleting', root_tree, root_mode, root_uid, root_gid, root_mtime_ns FROM snapshots LIMIT 1`).run();
    });
    const r = await verify(f.root, { quick: true });
    const inv = r.findings.filter((x) => x.kind === 'catalog-invariant');
    expect(inv.map((x) => x.message).sort()).toEqual([
      expect.stringMatching(/^entry "lost" of tree \d+: a folder without a tree record$/),
      'unsafe snapshot name "../victim": linksnap neither moves nor deletes anything for it',
    ]);
    expect(inv.every((x) => x.snapshots.length === 0)).toBe(true);
    expect(r.damaged).toBe(true);
  });
});

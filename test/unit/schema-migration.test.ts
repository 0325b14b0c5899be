/**
 * Catalog migrations: a v1 catalog (per-file stat_cache) opens as the current schema with its
 * snapshots intact and the old quick-check rows dropped (they are only a cache); a catalog newer
 * than this program is refused.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/catalog/sqlite.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/catalog/schema.js';
import { Catalog } from '../../src/catalog/catalog.js';
import { addRun, lastRun } from '../../src/catalog/run-queries.js';
import { tempDir } from '../helpers/tmp.js';

describe('catalog schema migrations', () => {
  it('upgrades a v1 catalog, keeping trees and snapshots and dropping its per-file quick-check rows', () => {
    const file = path.join(tempDir(), 'catalog.db');
    const db = openDatabase(file);
    db.exec(MIGRATIONS[1]!);
    db.pragma('user_version = 1');
    db.prepare(`INSERT INTO trees (id, digest, files, dirs, bytes) VALUES (1, ?, 0, 0, 0)`).run(Buffer.alloc(32, 1));
    db.prepare(
      `INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns) VALUES ('2026-01-01_00.00.00', 1, 'complete', 1, 493, 0, 0, 0)`,
    ).run();
    db.prepare(`INSERT INTO stat_cache (dir, name, dev, ino, size, mtime_ns, ctime_ns, hash) VALUES (?, ?, 1, 2, 3, 4, 5, ?)`).run(Buffer.alloc(0), Buffer.from('f'), Buffer.alloc(32));
    db.close();

    const c = Catalog.open(file);
    try {
      expect(c.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(c.listSnapshots().map((s) => s.name)).toEqual(['2026-01-01_00.00.00']);
      const tables = (c.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((t) => t.name);
      expect(tables).toContain('quick_check');
      expect(tables.filter((t) => t !== 'quick_check' && /cache/.test(t))).toEqual([]);
      expect(c.quickCheck(Buffer.alloc(0))).toBeUndefined();
    } finally {
      c.close();
    }
  });

  it('upgrades a v2 catalog, keeping its quick-check records and the rules they were written under', () => {
    const file = path.join(tempDir(), 'catalog.db');
    const db = openDatabase(file);
    db.exec(MIGRATIONS[1]!);
    db.exec(MIGRATIONS[2]!);
    db.pragma('user_version = 2');
    db.prepare(`INSERT INTO dir_cache (dir, digest, records) VALUES (?, ?, ?)`).run(Buffer.from('a'), Buffer.alloc(32, 2), Buffer.from('recs'));
    db.prepare(`INSERT INTO internal (key, value) VALUES ('dir_cache.excludes', 'k1')`).run();
    db.close();

    const c = Catalog.open(file);
    try {
      expect(c.quickCheck(Buffer.from('a'))).toEqual({ digest: Buffer.alloc(32, 2), parts: 1, records: Buffer.from('recs') });
      expect(c.getInternal('quick_check.excludes')).toBe('k1');
    } finally {
      c.close();
    }
  });

  it('upgrades a v3 catalog with an empty table of run records, which status reads as none until then', () => {
    const file = path.join(tempDir(), 'catalog.db');
    const db = openDatabase(file, { wal: true });
    for (const v of [1, 2, 3]) db.exec(MIGRATIONS[v]!);
    db.pragma('user_version = 3');
    db.prepare(`INSERT INTO trees (id, digest, files, dirs, bytes) VALUES (1, ?, 0, 0, 0)`).run(Buffer.alloc(32, 1));
    db.prepare(
      `INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns) VALUES ('2026-01-01_00.00.00', 1, 'complete', 1, 493, 0, 0, 0)`,
    ).run();
    db.close();

    // Read-only (status on a root no newer linksnap has written yet): not migrated, no records.
    const ro = Catalog.open(file, { readonly: true });
    try {
      expect(lastRun(ro, 'take')).toBeUndefined();
    } finally {
      ro.close();
    }
    const c = Catalog.open(file);
    try {
      expect(c.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(c.listSnapshots().map((s) => s.name)).toEqual(['2026-01-01_00.00.00']);
      expect(lastRun(c, 'take')).toBeUndefined();
      const id = addRun(c, { command: 'take', startedNs: 5n, finishedNs: 6n, outcome: 'failed', errorCode: 'NO_LATEST', error: 'gone' });
      addRun(c, { command: 'verify', startedNs: 7n, finishedNs: 8n, outcome: 'clean', tier: 'quick', snapshots: 1, damage: 0 });
      expect(lastRun(c, 'take')).toEqual({ id, command: 'take', startedNs: 5n, finishedNs: 6n, outcome: 'failed', warnings: 0, errorCode: 'NO_LATEST', error: 'gone', snapshot: undefined, tier: undefined, snapshots: undefined, damage: undefined });
      // Only the newest records of each command are kept.
      for (let i = 0; i < 150; i++) addRun(c, { command: 'take', startedNs: 10n, finishedNs: 11n, outcome: 'ok' });
      const counts = c.db.prepare(`SELECT command, count(*) AS n FROM runs GROUP BY command ORDER BY command`).all();
      expect(counts).toEqual([{ command: 'take', n: 100 }, { command: 'verify', n: 1 }]);
    } finally {
      c.close();
    }
  });

  it('upgrades a v4 catalog to extended attributes: objects, entries and snapshots keep their rows, with no attributes', () => {
    const file = path.join(tempDir(), 'catalog.db');
    const db = openDatabase(file);
    for (const v of [1, 2, 3, 4]) db.exec(MIGRATIONS[v]!);
    db.pragma('user_version = 4');
    db.prepare(`INSERT INTO trees (id, digest, files, dirs, bytes) VALUES (1, ?, 1, 0, 3)`).run(Buffer.alloc(32, 1));
    db.prepare(
      `INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns) VALUES ('2026-01-01_00.00.00', 1, 'complete', 1, 493, 0, 0, 0)`,
    ).run();
    db.prepare(`INSERT INTO entries (tree, name, kind, mode, uid, gid, mtime_ns, size, hash) VALUES (1, ?, 1, 420, 0, 0, 5000, 3, ?)`).run(Buffer.from('f'), Buffer.alloc(32, 2));
    db.prepare(`INSERT INTO objects (hash, mode, uid, gid, mtime_us, size, replicas, verified_ns) VALUES (?, 420, 0, 0, 5, 3, 2, 77)`).run(Buffer.alloc(32, 2));
    db.close();

    const c = Catalog.open(file);
    try {
      const key = { hash: Buffer.alloc(32, 2), mode: 420, uid: 0, gid: 0, mtimeUs: 5n };
      expect(c.getObject(key)).toEqual({ ...key, size: 3, replicas: 2, verifiedNs: 77n });
      expect([...c.iterateObjects()]).toEqual([{ ...key, size: 3, replicas: 2, verifiedNs: 77n }]);
      expect(c.treeEntries(1)).toEqual([{ name: Buffer.from('f'), kind: 1, mode: 420, uid: 0, gid: 0, mtimeNs: 5000n, size: 3, hash: Buffer.alloc(32, 2) }]);
      expect(c.getSnapshot('2026-01-01_00.00.00')!.rootXattrs).toEqual(Buffer.alloc(0));
      expect(c.hasXattrSets()).toBe(false);
      // The same content with attributes is another object; its set is stored once.
      const digest = Buffer.alloc(32, 3);
      expect(c.ensureObject({ ...key, xattrs: digest }, 3)).toBe(true);
      c.putXattrSet(digest, Buffer.from('set'));
      c.putXattrSet(digest, Buffer.from('set'));
      expect(c.xattrSet(digest)).toEqual(Buffer.from('set'));
      expect([...c.iterateObjects()]).toHaveLength(2);
    } finally {
      c.close();
    }
  });

  it('refuses a catalog from a newer linksnap', () => {
    const file = path.join(tempDir(), 'catalog.db');
    const db = openDatabase(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Catalog.open(file)).toThrow(/newer than this linksnap understands/);
  });
});

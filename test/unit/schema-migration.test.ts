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

  it('refuses a catalog from a newer linksnap', () => {
    const file = path.join(tempDir(), 'catalog.db');
    const db = openDatabase(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Catalog.open(file)).toThrow(/newer than this linksnap understands/);
  });
});

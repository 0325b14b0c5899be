/**
 * The names linksnap gives inside .snap (src/store/layout.ts): cleanup deletes only these, so
 * each rule must accept exactly what the code that makes the names produces, and nothing that
 * could be someone else's file.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  isFanOutName,
  isObjectKeyInScheme,
  isStagingName,
  isTmpName,
  isTrashName,
  objectName,
  parseObjectFileIn,
  pullCatalogName,
} from '../../src/store/layout.js';
import { tmpName } from '../../src/store/blobfile.js';
import { assertSnapshotName, isSnapshotName } from '../../src/model/snapshot-name.js';
import type { ObjectKey } from '../../src/model/object-key.js';

const SNAP = '2026-11-27_03.00.00';
const KEY: ObjectKey = { hash: Buffer.alloc(32, 0xab), mode: 0o644, uid: 1000, gid: 100, mtimeUs: 1_700_000_000_000_000n };

describe('names linksnap gives in .snap', () => {
  it('tmp: the blob names tmpName makes and the pulled catalog with its SQLite side files', () => {
    for (let i = 0; i < 20; i++) expect(isTmpName(path.basename(tmpName('/x')))).toBe(true);
    const cat = pullCatalogName();
    for (const n of [cat, `${cat}-wal`, `${cat}-shm`, `${cat}-journal`]) expect(isTmpName(n), n).toBe(true);
    for (const n of ['leftover', '123-abc', '123-0123456789abcdeF', '-0123456789abcdef', `${cat}-x`, 'pull-catalog-../x.db', '.latest']) expect(isTmpName(n), n).toBe(false);
  });

  it('staging: a snapshot name, or a rebuild in progress', () => {
    expect(isStagingName(SNAP)).toBe(true);
    expect(isStagingName(`${SNAP}.building-0a1b2c3d`)).toBe(true);
    for (const n of ['.latest', '..', 'holiday', `${SNAP}.building-xyz`, `${SNAP}.building-0a1b2c3d4`, `x${SNAP}`, `${SNAP}.1`]) expect(isStagingName(n), n).toBe(false);
  });

  it('trash: removed folders (also suffixed), replaced folders, and what a repair moved aside', () => {
    for (const n of [SNAP, `${SNAP}.1`, `${SNAP}.12`, `${SNAP}.old-0a1b2c3d`, 'objects-ab-0a1b2c3d', 'object-0a1b2c3d4e5f']) expect(isTrashName(n), n).toBe(true);
    for (const n of ['do-not-delete', `${SNAP}.0`, `${SNAP}.old-`, 'objects-zz-0a1b2c3d', 'object-0a1b', '..', '.latest']) expect(isTrashName(n), n).toBe(false);
  });

  it('objects: two-hex fan-outs, and object names only in their own fan-out', () => {
    expect(isFanOutName('ab')).toBe(true);
    for (const n of ['AB', 'a', 'abc', 'zz', '..']) expect(isFanOutName(n), n).toBe(false);
    const name = objectName(KEY);
    expect(parseObjectFileIn('ab', name)?.key.uid).toBe(1000);
    expect(parseObjectFileIn('ab', `${name}_r2`)?.replica).toBe(2);
    expect(parseObjectFileIn('cd', name)).toBeUndefined();
    expect(parseObjectFileIn('ab', 'notes.txt')).toBeUndefined();
  });

  it('a catalog row names an object file only with a 32-byte hash and metadata in range', () => {
    expect(isObjectKeyInScheme(KEY)).toBe(true);
    const bad: ObjectKey[] = [
      { ...KEY, hash: '../../../etc/x' as unknown as Buffer }, // a hash stored as text
      { ...KEY, hash: Buffer.alloc(31) },
      { ...KEY, uid: -1 },
      { ...KEY, mode: Number.NaN },
      { ...KEY, gid: 1.5 },
    ];
    for (const k of bad) expect(isObjectKeyInScheme(k)).toBe(false);
  });

  it('snapshot names: the dated-folder format only', () => {
    expect(isSnapshotName(SNAP)).toBe(true);
    for (const n of ['.latest', '../victim', `${SNAP}/..`, '', 42, null]) {
      expect(isSnapshotName(n)).toBe(false);
      expect(() => assertSnapshotName(n)).toThrow(/refusing snapshot name/);
    }
  });
});

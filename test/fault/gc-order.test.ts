/**
 * gc deletes catalog rows before files: a prune whose gc is killed at any of its fault points
 * (after the rows went, after each object file or replica was unlinked) leaves no objects row
 * whose files are gone — every row still has every one of its replica files, so nothing the
 * catalog promises is missing, and the next gc finishes the job.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { gc } from '../../src/ops/retention/gc.js';
import { objectName, objectPath } from '../../src/store/layout.js';
import { neededObjectFiles, objectDirListing, storeProblems } from '../helpers/store-check.js';

/** A simulated link limit of 3: each version's six identical files need two replicas beside the object file. */
const ENV = { LINKSNAP_NO_SYNC: '1', LINKSNAP_TEST_LINK_LIMIT: '3' };

/** Four snapshots of four versions of a file (kept in six identical copies), and one shared file. */
function fixture(): string {
  const { root, latest } = newRoot();
  fs.writeFileSync(path.join(latest, 'shared'), 'in every snapshot');
  const t = new Date('2024-01-01T00:00:00Z');
  for (let v = 0; v < 4; v++) {
    for (let i = 0; i < 6; i++) {
      const p = path.join(latest, `copy${i}`);
      fs.writeFileSync(p, `version ${v}`);
      fs.utimesSync(p, t, t);
    }
    const r = runCli(['take', root, '--keep', '100'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
  }
  return root;
}

/** Object rows whose files are not all there: a row must never outlive any of its files. */
function rowsWithoutFiles(root: string): string[] {
  const r = openRoot(root, { readonly: true });
  try {
    const rows = r.catalog.db.prepare(`SELECT hash, mode, uid, gid, mtime_us AS mtimeUs, replicas FROM objects`).all() as {
      hash: Buffer;
      mode: number;
      uid: number;
      gid: number;
      mtimeUs: bigint;
      replicas: number;
    }[];
    const out: string[] = [];
    for (const o of rows) {
      const key = { ...o, mode: Number(o.mode), uid: Number(o.uid), gid: Number(o.gid), mtimeUs: BigInt(o.mtimeUs) };
      for (let i = 0; i < Number(o.replicas); i++) if (!fs.existsSync(objectPath(r.layout, key, i))) out.push(objectName(key, i));
    }
    return out;
  } finally {
    r.close();
  }
}

/** A copy of the fixture (cp -a keeps the hard links between the snapshots and the objects). */
function copyOf(root: string): string {
  const copy = path.join(tempDir(), 'root');
  execFileSync('cp', ['-a', root, copy]);
  return copy;
}

describe('prune killed inside its gc', () => {
  it('never leaves an objects row whose files (any replica) are gone', async () => {
    const original = fixture();
    expect(objectDirListing(original).filter((n) => /_r2$/.test(n))).toHaveLength(4); // each version: 3 files
    let crashes = 0;
    for (let k = 1; k < 20; k++) {
      const root = copyOf(original);
      const r = runCli(['prune', root, '--keep-last', '1'], { env: { ...ENV, LINKSNAP_CRASH_AT: '^gc:', LINKSNAP_CRASH_AFTER: String(k) } });
      if (r.code === 0) break; // k passed every fault point of the gc
      expect(r.code, r.stderr).toBe(-1); // killed, not an error
      crashes++;
      expect(rowsWithoutFiles(root), `after kill ${k}`).toEqual([]);
      expect(storeProblems(root)).toEqual([]);
      await gc(root); // the next gc finishes the job
      expect(objectDirListing(root)).toEqual(neededObjectFiles(root));
    }
    // rows deleted, then 3 versions × 3 files (object and two replicas) unlinked
    expect(crashes).toBe(10);
  }, 120_000);
});

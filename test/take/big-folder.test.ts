/**
 * One folder of any size: a folder with more entries than one scan chunk is listed, scanned,
 * recorded and turned into a tree a chunk at a time. It must give the same snapshot, the same
 * tree digest and the same quick-check reuse as a small folder would. The chunk is made small
 * here (LINKSNAP_TEST_SCAN_CHUNK, read when the modules load, also by the worker threads) so
 * that many chunks run fast; bench/ runs folders of 150,000 and 1,000,000 entries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { storeProblems } from '../helpers/store-check.js';

process.env.LINKSNAP_TEST_SCAN_CHUNK = '64';
const { take } = await import('../../src/ops/take/take.js');
const { verify } = await import('../../src/ops/verify/verify.js');
const { openRoot } = await import('../../src/ops/shared/root.js');
const { SCAN_CHUNK } = await import('../../src/store/source-scan.js');

const N = 4 * SCAN_CHUNK + 30; // five chunks

function fill(dir: string, n: number, prefix = 'f'): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `${prefix}${String(i).padStart(6, '0')}`), `${prefix}:${i}\n`);
}

function quickCheckParts(root: string, dir: string): number {
  const r = openRoot(root, { readonly: true });
  try {
    return r.catalog.quickCheck(Buffer.from(dir))?.parts ?? 0;
  } finally {
    r.close();
  }
}

function treeRows(root: string): number {
  const r = openRoot(root, { readonly: true });
  try {
    return Number((r.catalog.db.prepare('SELECT count(*) AS n FROM trees').get() as { n: number }).n);
  } finally {
    r.close();
  }
}

describe('a folder bigger than one scan chunk', () => {
  it('runs with the small test chunk', () => expect(SCAN_CHUNK).toBe(64));

  it('is stored exactly, reused when unchanged, and rebuilt with the same digest as a fresh take', async () => {
    const { root, latest } = newRoot();
    const big = path.join(latest, 'maildir');
    fill(big, N);
    fs.mkdirSync(path.join(big, 'sub')); // a subfolder among the chunks' entries
    fs.writeFileSync(path.join(big, 'sub', 'inner'), 'inner\n');
    fs.symlinkSync('f000001', path.join(big, 'link'));
    const now = steppingClock();

    const first = await take(root, { now, racyWindowMs: 0 });
    expect(diffTrees(readTree(latest), readTree(first.path))).toEqual([]);
    expect(first.files).toBe(N + 1);
    expect(quickCheckParts(root, 'maildir')).toBeGreaterThan(1);

    // No change: every file linked from its record, the tree reused, nothing written.
    const trees = treeRows(root);
    const again = await take(root, { now, racyWindowMs: 0 });
    expect(again.hashedFiles).toBe(0);
    expect(treeRows(root)).toBe(trees);

    // Changes in the middle chunk and the last: a rewrite, a deletion, a new name, a new subfolder file.
    fs.writeFileSync(path.join(big, `f${String(SCAN_CHUNK + 10).padStart(6, '0')}`), 'changed!\n');
    fs.rmSync(path.join(big, `f${String(N - 5).padStart(6, '0')}`));
    fs.writeFileSync(path.join(big, 'g-new'), 'new\n');
    fs.writeFileSync(path.join(big, 'sub', 'inner2'), 'inner2\n');
    const changed = await take(root, { now, racyWindowMs: 0 });
    expect(changed.hashedFiles).toBe(3);
    expect(diffTrees(readTree(latest), readTree(changed.path))).toEqual([]);

    // The same tree digest as a take that never saw the records (a fresh --checksum take).
    const fresh = await take(root, { now, checksum: true });
    const r = openRoot(root, { readonly: true });
    try {
      const rows = r.catalog.listSnapshots();
      expect(rows.at(-1)!.rootTree).toBe(rows.at(-2)!.rootTree);
    } finally {
      r.close();
    }
    expect(fresh.files).toBe(changed.files);
    expect((await verify(root)).damaged).toBe(false);
    expect(storeProblems(root)).toEqual([]);
  });

  it('shrinking to a small folder, and growing back, keeps the records right', async () => {
    const { root, latest } = newRoot();
    const big = path.join(latest, 'd');
    fill(big, N);
    const now = steppingClock();
    await take(root, { now, racyWindowMs: 0 });
    for (const n of fs.readdirSync(big).slice(10)) fs.rmSync(path.join(big, n));
    const small = await take(root, { now, racyWindowMs: 0, allowShrink: true });
    expect(diffTrees(readTree(latest), readTree(small.path))).toEqual([]);
    expect(quickCheckParts(root, 'd')).toBe(1);
    fill(big, N, 'h');
    const grown = await take(root, { now, racyWindowMs: 0 });
    expect(diffTrees(readTree(latest), readTree(grown.path))).toEqual([]);
    expect((await take(root, { now, racyWindowMs: 0 })).hashedFiles).toBe(0);
    expect((await verify(root, { quick: true })).damaged).toBe(false);
  });
});

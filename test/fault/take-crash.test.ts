/**
 * Kill `snap take` with SIGKILL at every fault point in turn: the folder never appears half
 * made, the catalog never references a missing blob, and the next run recovers by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { objectPath } from '../../src/store/layout.js';
import { nsToUs } from '../../src/model/object-key.js';
import { Kind } from '../../src/model/entry.js';

/** Every complete snapshot's folder equals its manifest and every referenced object exists. */
function assertConsistent(root: string): void {
  const r = openRoot(root, { readonly: true });
  try {
    for (const s of r.catalog.listSnapshots()) {
      // Killed while pruning: the row is marked and the next run finishes the removal.
      if (s.state === 'deleting') continue;
      // Killed between commit and rename: complete but still staged; the next run publishes it.
      const base = fs.existsSync(path.join(root, s.name)) ? root : path.join(root, '.snap/staging');
      const walk = (tree: number, rel: string) => {
        for (const e of r.catalog.treeEntries(tree)) {
          const p = path.join(base, s.name, rel, e.name.toString());
          const st = fs.lstatSync(p);
          if (e.kind === Kind.File) {
            const obj = objectPath(r.layout, { hash: e.hash!, mode: e.mode, uid: e.uid, gid: e.gid, mtimeUs: nsToUs(e.mtimeNs) });
            expect(fs.statSync(obj).ino).toBe(st.ino);
          } else if (e.kind === Kind.Dir) walk(e.subtree!, path.join(rel, e.name.toString()));
        }
      };
      walk(s.rootTree, '');
    }
  } finally {
    r.close();
  }
}

function datedFolders(root: string): string[] {
  return fs.readdirSync(root).filter((n) => /^\d{4}-\d\d-\d\d_/.test(n)).sort();
}

describe('take killed at any point', () => {
  it('recovers on the next run at every fault point', () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 24; i++) fs.writeFileSync(path.join(latest, `f${i}`), `content ${i % 9}`);
    fs.mkdirSync(path.join(latest, 'd'));
    fs.writeFileSync(path.join(latest, 'd/x'), 'x');
    const first = runCli(['take', root, '--keep', '2']);
    expect(first.code).toBe(0);
    let crashes = 0;
    for (let k = 1; k < 60; k++) {
      fs.writeFileSync(path.join(latest, 'changing'), `round ${k}`);
      const before = listSnapshots(root).map((s) => s.name);
      const r = runCli(['take', root, '--keep', '2'], { env: { LINKSNAP_CRASH_AFTER: String(k), LINKSNAP_NO_SYNC: '1' } });
      if (r.code === 0) break; // k passed every fault point: done
      crashes++;
      // No half snapshot is visible: every dated folder is a complete catalog snapshot.
      const after = listSnapshots(root).map((s) => s.name);
      expect(datedFolders(root).filter((n) => !after.includes(n) && !before.includes(n))).toEqual([]);
      assertConsistent(root);
      // The next run recovers and its snapshot equals the source.
      const ok = runCli(['take', root, '--keep', '2'], { env: { LINKSNAP_NO_SYNC: '1' } });
      expect(ok.code, ok.stderr).toBe(0);
      const made = ok.stdout.trim().split('\n').at(-1)!;
      expect(diffTrees(readTree(latest), readTree(made))).toEqual([]);
      assertConsistent(root);
      expect(fs.readdirSync(path.join(root, '.snap/staging'))).toEqual([]);
      expect(fs.readdirSync(path.join(root, '.snap/tmp'))).toEqual([]);
      expect(datedFolders(root)).toEqual(listSnapshots(root).map((s) => s.name).sort());
    }
    expect(crashes).toBeGreaterThan(10);
  }, 180_000);
});

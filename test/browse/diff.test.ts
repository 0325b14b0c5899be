import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { diff, type DiffItem } from '../../src/ops/browse/diff.js';
import { buildExcludes } from '../../src/ops/take/excludes.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { readTree, type TreeInfo } from '../helpers/tree.js';
import { applyMutation, mutationArb } from '../helpers/mutate.js';
import { showName } from '../../src/util/paths.js';

const old = new Date('2024-01-01T00:00:00Z');
function w(p: string, content: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
  fs.utimesSync(p, old, old);
}

const brief = (items: DiffItem[]) => items.map((i) => `${i.status} ${i.from ? i.from + ' -> ' : ''}${i.path}${i.changes ? ' ' + i.changes.join(',') : ''}`);

describe('diff', () => {
  it('reports added, removed, changed (which part) and renamed between two snapshots', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    w(path.join(latest, 'keep/k'), 'same');
    w(path.join(latest, 'a.txt'), 'will move');
    w(path.join(latest, 'c'), 'content v1');
    w(path.join(latest, 'm'), 'mode');
    w(path.join(latest, 'gone'), 'bye');
    w(path.join(latest, 'olddir/x'), 'x in a moved folder');
    w(path.join(latest, 'olddir/y'), 'y');
    fs.symlinkSync('t1', path.join(latest, 'ln'));
    const a = await take(root, { now });
    fs.renameSync(path.join(latest, 'a.txt'), path.join(latest, 'keep/b.txt'));
    w(path.join(latest, 'c'), 'content v2');
    fs.chmodSync(path.join(latest, 'm'), 0o600);
    fs.rmSync(path.join(latest, 'gone'));
    w(path.join(latest, 'new'), 'hello');
    fs.renameSync(path.join(latest, 'olddir'), path.join(latest, 'newdir'));
    fs.rmSync(path.join(latest, 'ln'));
    fs.symlinkSync('t2', path.join(latest, 'ln'));
    const b = await take(root, { now });
    const r = await diff(root, a.snapshot, b.snapshot);
    expect(brief(r.items)).toEqual([
      'changed c content',
      'removed gone',
      'renamed a.txt -> keep/b.txt',
      'changed ln target,mtime',
      'changed m mode',
      'added new',
      'renamed olddir -> newdir',
    ]);
    expect(r.summary).toEqual({ added: 1, removed: 1, changed: 3, renamed: 2 });
    expect(r.items.find((i) => i.path === 'c')).toMatchObject({ size: 10, kind: 'file' });
    expect((await diff(root, a.snapshot, a.snapshot).catch((e: Error) => e.message)) as string).toMatch(/itself/);
    // Reversed, the rename goes the other way.
    const back = await diff(root, b.snapshot, a.snapshot);
    expect(brief(back.items)).toContain('renamed keep/b.txt -> a.txt');
  });

  it('compares with .latest using the quick check, hashing only what it cannot vouch for', async () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 20; i++) w(path.join(latest, `f${i}`), `file ${i}`);
    const a = await take(root, { racyWindowMs: 0 });
    let r = await diff(root, a.snapshot);
    expect(r.items).toEqual([]);
    expect(r.hashedFiles).toBe(0);
    // Same size, old mtime put back: only ctime tells; the cache misses and the hash decides.
    const p = path.join(latest, 'f3');
    fs.writeFileSync(p, 'FILE 3');
    fs.utimesSync(p, old, old);
    w(path.join(latest, 'f0.syncthing'), 'x');
    w(path.join(latest, '.syncthing.f9.tmp'), 'partial');
    r = await diff(root, a.snapshot, '.latest', { exclude: buildExcludes(root).exclude });
    expect(brief(r.items)).toEqual(['added f0.syncthing', 'changed f3 content']);
    expect(r.hashedFiles).toBe(1);
    expect(r.b).toBe('.latest');
  });

  it('reports a kind change as removed + added, and a folder mtime only when asked', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    w(path.join(latest, 'x'), 'file');
    fs.mkdirSync(path.join(latest, 'd'));
    const a = await take(root, { now });
    fs.rmSync(path.join(latest, 'x'));
    w(path.join(latest, 'x/inner'), 'now a folder');
    fs.utimesSync(path.join(latest, 'd'), new Date('2020-01-01'), new Date('2020-01-01'));
    const b = await take(root, { now });
    expect(brief((await diff(root, a.snapshot, b.snapshot)).items)).toEqual(['removed x', 'added x', 'added x/inner']);
    expect(brief((await diff(root, a.snapshot, b.snapshot, { dirMtime: true })).items)).toContain('changed d mtime');
  });

  it('agrees with a comparison of the two snapshot folders (random changes)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 6 }), fc.array(mutationArb, { minLength: 1, maxLength: 6 }), async (setup, change) => {
        const { root, latest } = newRoot();
        const now = steppingClock();
        for (const m of setup) applyMutation(latest, m);
        const a = await take(root, { now });
        for (const m of change) applyMutation(latest, m);
        const b = await take(root, { now, allowShrink: true });
        const r = await diff(root, a.snapshot, b.snapshot, { dirMtime: true });
        const ta = readTree(a.path, { withTop: false });
        const tb = readTree(b.path, { withTop: false });
        const expected = expectedDiff(ta, tb);
        // Every path below a folder of `tree` whose printable name is `shown` (names may not be UTF-8).
        const below = (tree: typeof ta, shown: string) => {
          const top = [...tree.keys()].find((k) => showName(Buffer.from(k, 'latin1')) === shown)!;
          return [...tree.keys()].filter((k) => k.startsWith(top + '/')).map((k) => showName(Buffer.from(k, 'latin1')));
        };
        // Renames are a removal plus an addition (of every path of a moved folder).
        const got = new Set<string>();
        for (const it of r.items) {
          if (it.status !== 'renamed') {
            got.add(`${it.status} ${it.path}`);
            continue;
          }
          got.add(`removed ${it.from}`);
          got.add(`added ${it.path}`);
          if (it.kind === 'dir') {
            for (const p of below(ta, it.from!)) got.add(`removed ${p}`);
            for (const p of below(tb, it.path)) got.add(`added ${p}`);
          } else if (it.changes?.length) got.add(`changed ${it.path}`); // unreachable for renames; kept for clarity
        }
        expect([...got].sort()).toEqual([...expected].sort());
      }),
      { numRuns: 25 },
    );
  });
});

/** Expected items from two real folders: same kind + differing fields = changed. */
function expectedDiff(a: TreeInfo, b: TreeInfo): Set<string> {
  const out = new Set<string>();
  const show = (k: string) => showName(Buffer.from(k, 'latin1'));
  for (const [k, ea] of a) {
    const eb = b.get(k);
    if (!eb || eb.kind !== ea.kind) {
      out.add(`removed ${show(k)}`);
      if (eb) out.add(`added ${show(k)}`);
      continue;
    }
    const differs = ea.sha !== eb.sha || ea.target !== eb.target || (ea.kind !== 'symlink' && ea.mode !== eb.mode) || ea.mtimeUs !== eb.mtimeUs || ea.uid !== eb.uid || ea.gid !== eb.gid;
    if (differs) out.add(`changed ${show(k)}`);
  }
  for (const k of b.keys()) if (!a.has(k)) out.add(`added ${show(k)}`);
  return out;
}

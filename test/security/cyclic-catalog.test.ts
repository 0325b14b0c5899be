/**
 * Every command that walks catalog trees walks them through one guard (TreeGuard): a catalog
 * tampered into a cycle, or into a chain of folders deeper than any real tree, ends each of
 * them with a one-line UNSAFE_PATH error naming the snapshot (exit 6) — never a hang, a stack
 * overflow or folders nested until the path is too long. `log` looks one path up (bounded by
 * its components) and `verify` reports the cycle as a finding.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openRoot } from '../../src/ops/shared/root.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { makeFixture, type Fixture } from '../helpers/verify-fixture.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };
/** Far beyond what any of these needs on a clean catalog: only a hang reaches it (then code -1). */
const KILL_AFTER_MS = 60_000;

function tamper(root: string, fn: (db: ReturnType<typeof openRoot>['catalog']['db'], rootTree: (snap: string) => number) => void): void {
  const rw = openRoot(root);
  try {
    rw.catalog.transaction(() => fn(rw.catalog.db, (snap) => rw.catalog.getSnapshot(snap)!.rootTree));
  } finally {
    rw.close();
  }
}

/** The newest snapshot's `docs` folder is made to contain its own top folder again. */
async function cyclicFixture(): Promise<{ f: Fixture; cyclic: string }> {
  const f = await makeFixture();
  const cyclic = f.snaps[2]!;
  tamper(f.root, (db, rootTree) => {
    const top = rootTree(cyclic);
    db.prepare(`UPDATE entries SET subtree = ? WHERE tree = ? AND name = ?`).run(top, top, Buffer.from('docs'));
  });
  return { f, cyclic };
}

function snap(f: Fixture, args: string[]) {
  return runCli(args, { env: ENV, timeoutMs: KILL_AFTER_MS });
}

function expectUnsafe(r: ReturnType<typeof runCli>, snapshot: string, what: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(6);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toContain(`the catalog's folders of ${snapshot}`);
  expect(lines[0]).toMatch(what);
  expect(r.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
}

describe('a catalog tampered into a cycle', () => {
  it('restore, materialize, find, diff and stats stop with exit 6 naming the snapshot', async () => {
    const { f, cyclic } = await cyclicFixture();
    const cycle = /form a cycle/;
    const dest = tempDir();
    expectUnsafe(snap(f, ['restore', f.root, cyclic, '--to', path.join(dest, 'all')]), cyclic, /form a cycle at docs/);
    expectUnsafe(snap(f, ['restore', f.root, cyclic, 'docs', '--to', path.join(dest, 'docs')]), cyclic, cycle);
    expect(fs.readdirSync(dest)).toEqual([]); // a failed restore leaves nothing behind
    expectUnsafe(snap(f, ['materialize', f.root, cyclic]), cyclic, /form a cycle at docs/);
    expectUnsafe(snap(f, ['materialize', f.root, cyclic, '--to', path.join(dest, 'm')]), cyclic, cycle);
    expectUnsafe(snap(f, ['find', f.root, '*.txt']), cyclic, cycle);
    expectUnsafe(snap(f, ['diff', f.root, f.snaps[0]!, cyclic]), cyclic, cycle);
    expectUnsafe(snap(f, ['diff', f.root, cyclic]), cyclic, cycle); // against .latest
    expectUnsafe(snap(f, ['stats', f.root]), cyclic, cycle);
    expect(fs.readdirSync(dest)).toEqual([]);
    expect(fs.readdirSync(path.join(f.root, '.snap/staging'))).toEqual([]);
  });

  it('verify reports it; log, which looks one path up and walks nothing, still answers', async () => {
    const { f, cyclic } = await cyclicFixture();
    const v = snap(f, ['verify', f.root, '--json']);
    expect(v.code).toBe(1);
    const found = JSON.parse(v.stdout).findings.find((x: { kind: string; message: string }) => x.kind === 'catalog-invariant' && /cycle/.test(x.message));
    expect(found.paths).toEqual([`${cyclic}/docs`]);
    const log = snap(f, ['log', f.root, 'docs/docs/docs/shared.txt', '--json']);
    expect(log.code, log.stderr).toBe(0);
    expect(JSON.parse(log.stdout).presentIn).toEqual([cyclic]);
  });
});

describe('a catalog tampered into a chain of folders deeper than any real tree', () => {
  it('find and diff stop at the depth limit with exit 6; verify reports it', async () => {
    const f = await makeFixture();
    const deep = f.snaps[2]!;
    tamper(f.root, (db, rootTree) => {
      // 2,100 distinct trees, each holding the next as `d`, hung below `empty`
      const insTree = db.prepare(`INSERT INTO trees (digest, files, dirs, bytes) VALUES (?, 0, 0, 0)`);
      const insDir = db.prepare(`INSERT INTO entries (tree, name, kind, mode, uid, gid, mtime_ns, size, subtree) VALUES (?, ?, 2, 493, 0, 0, 0, 0, ?)`);
      let below = Number(insTree.run(randomBytes(32)).lastInsertRowid);
      for (let i = 0; i < 2100; i++) {
        const t = Number(insTree.run(randomBytes(32)).lastInsertRowid);
        insDir.run(t, Buffer.from('d'), below);
        below = t;
      }
      db.prepare(`UPDATE entries SET subtree = ? WHERE tree = ? AND name = ?`).run(below, rootTree(deep), Buffer.from('empty'));
    });
    const tooDeep = /nest deeper than 2048 levels at empty(\/d)+$/;
    expectUnsafe(snap(f, ['find', f.root, 'no-such-name']), deep, tooDeep);
    expectUnsafe(snap(f, ['diff', f.root, f.snaps[0]!, deep]), deep, tooDeep);
    const v = snap(f, ['verify', f.root, deep, '--quick', '--json']);
    expect(v.code).toBe(1);
    expect(JSON.parse(v.stdout).findings.some((x: { message: string }) => /nest deeper than 2048 levels/.test(x.message))).toBe(true);
  }, 120_000);
});

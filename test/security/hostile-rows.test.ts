/**
 * Defence in depth: a local catalog with a snapshot row whose name is not a dated-folder name
 * (`.latest`, `../victim`) — in the state `deleting`, which recovery finishes at the start of
 * every locked run, or `complete` and due for rotation — makes the locked run refuse with exit 6
 * and a hint to run `snap verify`. Nothing is moved or deleted for it: the live `.latest` and a
 * folder beside the root survive take, gc and prune. This holds without any check at pull time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { steppingClock, tempDir } from '../helpers/tmp.js';
import { take } from '../../src/ops/take/take.js';
import { fullState } from '../helpers/verify-fixture.js';
import { layoutFor, objectPath } from '../../src/store/layout.js';
import type { ObjectKey } from '../../src/model/object-key.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };

/** <base>/root with one snapshot, and <base>/victim beside it. */
async function rootBesideVictim() {
  const base = tempDir();
  const root = path.join(base, 'root');
  const latest = path.join(root, '.latest');
  fs.mkdirSync(latest, { recursive: true });
  fs.writeFileSync(path.join(latest, 'live.txt'), 'the live data');
  const snap = (await take(root, { now: steppingClock(), racyWindowMs: 0 })).snapshot;
  const victim = path.join(base, 'victim');
  fs.mkdirSync(victim);
  fs.writeFileSync(path.join(victim, 'precious.txt'), 'not linksnap’s');
  return { root, latest, victim, snap, state: () => [...fullState(latest), ...fullState(victim)] };
}

/** A second snapshot row sharing the first one's tree, under a hostile name. */
function addRow(root: string, name: string, state: 'complete' | 'deleting', takenNs = 1n): void {
  const db = new Database(path.join(root, '.snap/catalog.db'));
  try {
    db.prepare(
      `INSERT INTO snapshots (name, taken_ns, state, root_tree, root_mode, root_uid, root_gid, root_mtime_ns)
       SELECT ?, ?, ?, root_tree, root_mode, root_uid, root_gid, root_mtime_ns FROM snapshots LIMIT 1`,
    ).run(name, takenNs, state);
  } finally {
    db.close();
  }
}

describe('a catalog row whose name is not a dated folder', () => {
  for (const name of ['.latest', '../victim']) {
    it(`a 'deleting' row named ${JSON.stringify(name)}: take and gc refuse with exit 6; nothing is moved`, async () => {
      const f = await rootBesideVictim();
      addRow(f.root, name, 'deleting');
      const before = f.state();
      for (const args of [['gc', f.root], ['take', f.root], ['prune', f.root, '--keep-last', '1'], ['verify', f.root, '--repair']]) {
        const r = runCli(args, { env: ENV });
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(6);
        expect(r.stderr.split('\n')[0]).toBe(`snap: refusing snapshot name ${JSON.stringify(name)} from the catalog`);
        expect(r.stderr).toMatch(/snap verify/);
        expect(f.state(), args[0]).toEqual(before);
        expect(fs.readdirSync(path.join(f.root, '.snap/trash'))).toEqual([]);
      }
      // a plain verify (no lock, changes nothing) names the row
      const v = runCli(['verify', f.root, '--json'], { env: ENV });
      expect(v.code).toBe(1);
      const inv = JSON.parse(v.stdout).findings.filter((x: { kind: string }) => x.kind === 'catalog-invariant');
      expect(inv.map((x: { message: string }) => x.message)).toEqual([expect.stringContaining(`unsafe snapshot name ${JSON.stringify(name)}`)]);
    });
  }

  it('a complete row named "../victim", the oldest: the rotation refuses to remove it', async () => {
    const f = await rootBesideVictim();
    addRow(f.root, '../victim', 'complete');
    const before = f.state();
    for (const args of [['prune', f.root, '--keep-last', '1'], ['take', f.root, '--keep', '1']]) {
      const r = runCli(args, { env: ENV });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(6);
      expect(r.stderr).toMatch(/^snap: refusing snapshot name "\.\.\/victim" from the catalog/);
      expect(f.state()).toEqual(before);
    }
  });

  it('an objects row whose hash is text spelling a path: gc refuses, the file it names survives', async () => {
    const f = await rootBesideVictim();
    const hash = '../../../victim/b/c/p'; // lands in <base>/victim/victim/b/c/
    // gc deletes objectPath(row) for an unreferenced row: what that path was before the check
    const target = objectPath(layoutFor(f.root), { hash: hash as unknown as Buffer, mode: 0o644, uid: 0, gid: 0, mtimeUs: 1n } as ObjectKey);
    expect(path.relative(f.victim, target).startsWith('..')).toBe(false); // beside the root, not in it
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, 'outside the store');
    const db = new Database(path.join(f.root, '.snap/catalog.db'));
    db.prepare(`INSERT INTO objects (hash, mode, uid, gid, mtime_us, size) VALUES (?, 420, 0, 0, 1, 17)`).run(hash);
    db.close();
    const r = runCli(['gc', f.root], { env: ENV });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/^snap: refusing a malformed objects row from the catalog\n/);
    expect(fs.readFileSync(target, 'utf8')).toBe('outside the store');
  });
});

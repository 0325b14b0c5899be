/**
 * Kill `snap materialize` and `snap verify --repair` with SIGKILL at every fault point in turn.
 * materialize: a plain verify right after the kill finds no damage (at worst a rebuilt folder
 * waiting in .snap/staging, which the next locked run publishes), and after the next locked run
 * every folder is exactly what take made. repair: every step is atomic and idempotent, so the
 * next `verify --repair` always converges to a clean verify with the snapshots intact.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { diffTrees, readTree } from '../helpers/tree.js';
import { verify } from '../../src/ops/verify/verify.js';
import { editInPlace, makeFixture, snapshotTrees, type Fixture } from '../helpers/verify-fixture.js';

const asRoot = process.getuid?.() === 0;
/**
 * By default the kills hit the points between the steps the crash guarantees depend on
 * (materialize:*, repair:*) plus the first few links and folders of a build; with
 * LINKSNAP_FULL_FAULTS=1 every fault point of `materialize --all` and of the repair is hit.
 */
const FULL = process.env.LINKSNAP_FULL_FAULTS === '1';
const ENV = { LINKSNAP_NO_SYNC: '1' };

function expectTreesEqual(f: Fixture, before: ReturnType<typeof snapshotTrees>, inodes: boolean): void {
  for (const s of f.snaps) {
    const now = readTree(path.join(f.root, s));
    expect(diffTrees(before.get(s)!, now, { owners: asRoot }), s).toEqual([]);
    if (inodes) for (const [k, info] of before.get(s)!) if (info.kind === 'file') expect(now.get(k)!.ino, `${s}/${k}`).toBe(info.ino);
  }
}

function damageOf(r: Awaited<ReturnType<typeof verify>>): string[] {
  return r.findings.filter((x) => x.severity === 'damage').map((x) => `${x.kind} ${x.paths.join(',')}`);
}

describe('materialize and repair killed at any point', () => {
  it('materialize: no damage after any kill, and the next locked run finishes the job', async () => {
    const f = await makeFixture();
    const before = snapshotTrees(f);
    let crashes = 0;
    const args = FULL ? ['materialize', f.root, '--all'] : ['materialize', f.root, f.snaps[1]!];
    const plan: [string | undefined, number][] = FULL
      ? Array.from({ length: 80 }, (_, i) => [undefined, i + 1])
      : [...[1, 2, 3, 4, 5].map((k): [string, number] => ['^materialize:', k]), ['object:linked', 3], ['dir:finished', 2]];
    for (const [at, k] of plan) {
      const env: Record<string, string> = { ...ENV, LINKSNAP_CRASH_AFTER: String(k) };
      if (at) env.LINKSNAP_CRASH_AT = at;
      const r = runCli(args, { env });
      if (r.code === 0) {
        if (!at) break; // k passed every fault point
        continue;
      }
      expect(r.code, r.stderr).toBe(-1); // killed
      crashes++;
      const plain = await verify(f.root, { quick: true });
      expect(damageOf(plain), `after kill ${k}`).toEqual([]);
      const next = await verify(f.root, { repair: true, quick: true }); // a locked run: recovers
      expect(damageOf(next)).toEqual([]);
      expectTreesEqual(f, before, true);
      expect(fs.readdirSync(path.join(f.root, '.snap/staging'))).toEqual([]);
    }
    expect(crashes).toBeGreaterThan(FULL ? 20 : 5);
  }, 300_000);

  it('repair: the next --repair converges to a clean store from a kill at any point', async () => {
    let crashes = 0;
    for (let k = 1; k < 80; k++) {
      if (!FULL && k > 14) break;
      const f = await makeFixture();
      const before = snapshotTrees(f);
      editInPlace(path.join(f.root, f.snaps[0]!, 'docs/a.txt'), 'ALPHA'); // heal from .latest + re-link 6 paths
      fs.chmodSync(path.join(f.root, f.snaps[1]!, 'shared.txt'), 0o604); // metadata in place
      fs.rmSync(path.join(f.root, f.snaps[2]!), { recursive: true }); // rebuild
      const p = path.join(f.root, f.snaps[1]!, 'change.txt');
      const st = fs.statSync(path.dirname(p));
      fs.copyFileSync(p, p + '.x');
      fs.renameSync(p + '.x', p); // entry-replaced: re-link in place
      fs.utimesSync(p, new Date('2024-04-02T00:00:00Z'), new Date('2024-04-02T00:00:00Z'));
      fs.utimesSync(path.dirname(p), st.atime, st.mtime);
      const env: Record<string, string> = { ...ENV, LINKSNAP_CRASH_AFTER: String(k) };
      if (!FULL) env.LINKSNAP_CRASH_AT = '^(repair|materialize):';
      const r = runCli(['verify', f.root, '--repair'], { env });
      if (r.code === 0) break;
      expect(r.code, r.stderr).toBe(-1);
      crashes++;
      const next = await verify(f.root, { repair: true });
      expect(damageOf(next).length === 0 || next.findings.every((x) => x.severity === 'info' || x.repaired), JSON.stringify(next.findings)).toBe(true);
      expect(damageOf(await verify(f.root)), `after kill ${k}`).toEqual([]);
      expectTreesEqual(f, before, false);
    }
    expect(crashes).toBeGreaterThan(FULL ? 20 : 8);
  }, 300_000);
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { openRoot, lockRoot } from '../../src/ops/shared/root.js';

const env = { LINKSNAP_NO_SYNC: '1' };
const snap = (...args: string[]) => runCli(args, { env });

/** Three snapshots, one second apart (take waits for the next second). */
function threeSnapshots(): { root: string; names: string[] } {
  const { root, latest } = newRoot();
  const names: string[] = [];
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(path.join(latest, 'f'), `v${i}`);
    const r = snap('take', root, '--json', '--keep', '10');
    expect(r.code, r.stderr).toBe(0);
    names.push(JSON.parse(r.stdout).snapshot);
  }
  return { root, names };
}

describe('snap prune / gc / pin / config (CLI)', () => {
  it('cron setup: saved policy applied by plain `snap take`, pins kept, prune and gc report', () => {
    const { root, names } = threeSnapshots();
    const c = snap('config', root, 'keep.last=2', 'keep.monthly=6', '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(JSON.parse(c.stdout)).toEqual({
      settings: { 'keep.last': '2', 'keep.monthly': '6' },
      policy: { last: 2, monthly: 6 },
      policySource: 'saved',
      changed: ['keep.last', 'keep.monthly'],
    });
    const show = snap('config', root);
    expect(show.stdout).toBe('keep.last=2\nkeep.monthly=6\n');
    expect(show.stderr).toMatch(/retention policy: keep-last 2, keep-monthly 6 \(saved\)/);

    expect(snap('pin', root, names[0]!).stdout).toBe(`${names[0]}: pinned\n`);
    fs.writeFileSync(path.join(root, '.latest/f'), 'v3');
    const t = snap('take', root, '--json'); // no --keep: the saved policy
    expect(t.code, t.stderr).toBe(0);
    const taken = JSON.parse(t.stdout);
    expect(taken.rotated).toEqual([names[1]]);
    expect(taken.freedObjects).toBe(1);

    const dry = snap('prune', root, '--keep-last', '1', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(`keep    ${names[0]}  pinned\nremove  ${names[2]}\nkeep    ${taken.snapshot}  last (#1), newest\n`);
    expect(dry.stderr).toMatch(/policy keep-last 1: would remove 1 snapshot, kept 2; would free 1 object \(2 B\)/);

    const j = snap('prune', root, '--keep-last', '1', '--json');
    expect(j.code, j.stderr).toBe(0);
    const pr = JSON.parse(j.stdout);
    expect(pr).toMatchObject({ dryRun: false, policy: { last: 1 }, policySource: 'options', removed: [names[2]], freedObjects: 1, freedBytes: 2 });
    expect(pr.kept).toEqual([
      { name: names[0], pinned: true, reasons: [{ rule: 'pinned' }] },
      { name: taken.snapshot, pinned: false, reasons: [{ rule: 'last', period: taken.snapshot, n: 1 }, { rule: 'newest' }] },
    ]);
    expect(typeof pr.seconds).toBe('number');

    fs.writeFileSync(path.join(root, '.snap/tmp/4242-00000000000000ff'), 'x'); // a tmp file of a killed run
    const g = snap('gc', root, '--json');
    expect(g.code, g.stderr).toBe(0);
    expect(JSON.parse(g.stdout)).toMatchObject({ dryRun: false, objects: 0, bytes: 0, trees: 0, strays: 0, strayBytes: 0, tmpFiles: 1, stagingFolders: 0 });
    expect(snap('gc', root).stdout).toMatch(/^freed 0 objects \(0 B\) and 0 tree records; 0 stray files/);

    expect(snap('unpin', root, names[0]!, '--json').stdout).toBe(JSON.stringify({ snapshots: [{ name: names[0], pinned: false, changed: true }] }, null, 2) + '\n');
    expect(snap('config', root, 'keep.last=1', '--unset', 'keep.monthly').stdout).toBe('keep.last=1\n');
    expect(snap('prune', root).stdout).toBe(`removed ${names[0]}\n`); // the saved policy
  }, 60_000);

  it('usage errors exit 2, a held lock exits 4, with one line and no stack trace', () => {
    const { root, names } = threeSnapshots();
    const cases: [string[], number, RegExp][] = [
      [['prune', root, '--keep-daily', '0'], 2, /--keep-daily must be a positive integer/],
      [['prune', root, '--keep-weekly', 'x'], 2, /--keep-weekly must be a positive integer/],
      [['config', root, 'keep.daily'], 2, /expected key=value/],
      [['config', root, 'colour=blue'], 2, /unknown setting 'colour'/],
      [['config', root, 'keep.daily=-1'], 2, /keep.daily must be a positive integer/],
      [['pin', root, '1999-01-01_00.00.00'], 2, /no snapshot named 1999-01-01_00.00.00/],
      [['pin', root], 2, /missing required argument/],
      [['gc', path.join(root, 'nope')], 2, /does not exist/],
      [['prune', path.join(root, '.snap')], 2, /no linksnap store/],
    ];
    for (const [args, code, msg] of cases) {
      const r = snap(...args);
      expect(r.code, args.join(' ') + r.stderr).toBe(code);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const r0 = openRoot(root);
    const lock = lockRoot(r0, 'take');
    try {
      for (const args of [['prune', root, '--wait', '0'], ['gc', root, '--wait', '0'], ['pin', root, names[0]!, '--wait', '0'], ['config', root, 'keep.last=3', '--wait', '0']]) {
        const r = snap(...args);
        expect(r.code, args.join(' ')).toBe(4);
        expect(r.stderr).toMatch(/another linksnap run holds the lock/);
      }
      // Read-only: no lock needed.
      expect(snap('prune', root, '--dry-run').code).toBe(0);
      expect(snap('config', root).code).toBe(0);
    } finally {
      lock.release();
      r0.close();
    }
  }, 60_000);
});

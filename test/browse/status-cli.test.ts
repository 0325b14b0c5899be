/**
 * `snap status` through the real CLI (docs/operations.md, "Health status"): exit 0 when healthy;
 * exit 1 with one line per reason when there is no snapshot, the newest is older than
 * --max-age, the last take failed (a missing .latest, a refused shrink, a failed hooks.pre), or
 * the last verify found damage.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { editInPlace } from '../helpers/verify-fixture.js';

const env = { LINKSNAP_NO_SYNC: '1' };
const snap = (...args: string[]) => runCli(args, { env });
const statusJson = (root: string, ...args: string[]) => {
  const r = snap('status', root, '--json', ...args);
  return { code: r.code, j: JSON.parse(r.stdout) };
};

describe('snap status (CLI)', () => {
  it('no snapshot (no store yet) is unhealthy', () => {
    const { root } = newRoot();
    const r = snap('status', root);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^UNHEALTHY: no snapshot in /);
    expect(r.stderr).toBe(`snap: unhealthy: no snapshot in ${root}\n`);
  });

  it('healthy after a take; too old for --max-age once the newest snapshot ages', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const t = snap('take', root);
    expect(t.code, t.stderr).toBe(0);
    const ok = snap('status', root, '--max-age', '36h');
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: newest snapshot \S+ is \d+s old\n/);
    expect(ok.stdout).toMatch(/\nlast take: +ok at \S+, made \S+\n/);
    expect(ok.stderr).toBe('');
    const { j } = statusJson(root);
    expect(j).toMatchObject({ healthy: true, problems: [], snapshots: 1, lastTake: { outcome: 'ok', warnings: 0 }, store: { objects: 1, bytes: 1 } });

    // Age the snapshot by three days in the catalog (the clock is the take's).
    const db = new Database(path.join(root, '.snap/catalog.db'));
    db.prepare(`UPDATE snapshots SET taken_ns = taken_ns - ?`).run(3n * 86_400n * 1_000_000_000n);
    db.close();
    const old = snap('status', root, '--max-age', '2d');
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/^snap: unhealthy: the newest snapshot \S+ is 3d old, more than --max-age 2d\n$/);
    expect(snap('status', root, '--max-age', '90h').code).toBe(0);
    expect(snap('status', root, '--max-age', 'soon').code).toBe(2);
  });

  /** A root with one snapshot of four files. */
  function rootWithSnapshot() {
    const { root, latest } = newRoot();
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(latest, `f${i}`), 'x');
    expect(snap('take', root).code).toBe(0);
    return { root, latest };
  }

  it('a take that failed on a missing .latest makes it unhealthy; a good take makes it healthy again', () => {
    const { root, latest } = rootWithSnapshot();
    fs.renameSync(latest, latest + '.away');
    expect(snap('take', root).code).toBe(2);
    const s = statusJson(root);
    expect(s.code).toBe(1);
    expect(s.j.lastTake).toMatchObject({ outcome: 'failed', errorCode: 'NO_LATEST', exitCode: 2, error: `${latest} does not exist` });
    expect(s.j.problems).toEqual([{ kind: 'take-failed', message: expect.stringMatching(/^the last take \(.*\) failed: .* does not exist$/) }]);

    fs.renameSync(latest + '.away', latest);
    expect(snap('take', root).code).toBe(0);
    expect(statusJson(root).code).toBe(0);
  });

  it('a refused shrink is a failed take', () => {
    const { root, latest } = rootWithSnapshot();
    for (let i = 0; i < 4; i++) fs.rmSync(path.join(latest, `f${i}`));
    expect(snap('take', root).code).toBe(2); // refused: the source is empty
    expect(statusJson(root).j.lastTake).toMatchObject({ outcome: 'failed', errorCode: 'SOURCE_SHRANK' });
    const human = snap('status', root);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/\nlast take: +failed at \S+ \(exit 2, SOURCE_SHRANK\): /);
  });

  it('a failing hooks.pre is a failed take', () => {
    const { root } = rootWithSnapshot();
    expect(snap('config', root, 'hooks.pre=exit 4').code).toBe(0);
    expect(snap('take', root).code).toBe(7);
    const s = statusJson(root);
    expect(s.code).toBe(1);
    expect(s.j.lastTake).toMatchObject({ outcome: 'failed', errorCode: 'HOOK_FAILED', exitCode: 7, error: 'hooks.pre exited with status 4; nothing was taken' });
  });

  it('a clean verify is recorded and keeps it healthy', () => {
    const { root } = rootWithSnapshot();
    expect(snap('verify', root, '--quick').code).toBe(0);
    const s = statusJson(root);
    expect(s.code).toBe(0);
    expect(s.j.lastVerify).toMatchObject({ outcome: 'clean', tier: 'quick', snapshots: 1, damage: 0 });
  });

  it('the last verify finding damage makes it unhealthy', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'content');
    const t = snap('take', root);
    expect(t.code).toBe(0);
    editInPlace(path.join(t.stdout.trim(), 'f'), 'CONTENT');
    expect(snap('verify', root).code).toBe(1);
    const s = statusJson(root);
    expect(s.code).toBe(1);
    expect(s.j.lastVerify).toMatchObject({ outcome: 'damage', tier: 'full', snapshots: 1 });
    expect(s.j.problems.map((p: { kind: string }) => p.kind)).toEqual(['verify-damage']);
    const human = snap('status', root);
    expect(human.stdout).toMatch(/\nlast verify: +full at \S+, 1 snapshot: found 1 damage finding\n/);
  });
});

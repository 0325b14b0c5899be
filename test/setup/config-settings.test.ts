/**
 * `snap config` over the settings registry, through the real CLI: every known key is listed with
 * the value that applies; take.max-shrink is saved, checked and unset like the keep.* keys,
 * whose output stays what it was (test/retention/prune-cli.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';

const snap = (...args: string[]) => runCli(args, { env: { LINKSNAP_NO_SYNC: '1' } });

describe('snap config: the settings registry', () => {
  it('lists every known setting, saves and unsets take.max-shrink, refuses bad values', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    expect(snap('config', root, 'keep.daily=07', 'take.max-shrink=30%').stdout).toBe('keep.daily=7\ntake.max-shrink=30\n');

    const show = snap('config', root);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toBe('keep.daily=7\ntake.max-shrink=30\n');
    expect(show.stderr).toMatch(/^snap: retention policy: keep-daily 7 \(saved\)\nsnap: settings \(set with key=value, back to the default with --unset key\):\n/);
    expect(show.stderr).toMatch(/\n  keep\.last +unset +keep the newest n snapshots\n/);
    expect(show.stderr).toMatch(/\n  keep\.daily=7 +saved +keep the newest snapshot of each of the last n days/);
    expect(show.stderr).toMatch(/\n  take\.max-shrink=30 +saved +refuse a take whose source lost more than this %/);

    const j = JSON.parse(snap('config', root, '--json').stdout);
    expect(j).toMatchObject({ settings: { 'keep.daily': '7', 'take.max-shrink': '30' }, policy: { daily: 7 }, policySource: 'saved', changed: [] });
    expect(j.known.map((k: { key: string }) => k.key)).toEqual(['keep.last', 'keep.hourly', 'keep.daily', 'keep.weekly', 'keep.monthly', 'keep.yearly', 'take.max-shrink', 'take.one-file-system', 'take.exclude-caches', 'take.exclude-if-present', 'take.xattrs', 'take.skip-unchanged', 'hooks.pre', 'hooks.post', 'hooks.failure', 'hooks.timeout']);
    expect(j.known.find((k: { key: string }) => k.key === 'take.max-shrink')).toEqual({ key: 'take.max-shrink', description: expect.stringMatching(/^refuse a take/), value: '30', source: 'saved', default: '50' });

    // A change reports what it saved, in the shape it always had.
    const u = JSON.parse(snap('config', root, '--unset', 'take.max-shrink', '--json').stdout);
    expect(u).toEqual({ settings: { 'keep.daily': '7' }, policy: { daily: 7 }, policySource: 'saved', changed: ['take.max-shrink'] });
    expect(snap('config', root).stderr).toMatch(/\n  take\.max-shrink=50 +default /);

    for (const [arg, msg] of [
      ['take.max-shrink=101', /take\.max-shrink must be a percentage from 0 to 100, got '101'\n  to go back to the default \(50\): snap config <root> --unset take\.max-shrink\n$/],
      ['take.max-shrink=', /take\.max-shrink must be a percentage from 0 to 100, got ''/],
      ['take.maxshrink=30', /unknown setting 'take\.maxshrink'\n  known keys: keep\.last, .*take\.max-shrink\b.*\n$/],
    ] as const) {
      const r = snap('config', root, arg);
      expect(r.code, arg).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    expect(snap('config', root).stdout).toBe('keep.daily=7\n'); // nothing saved by the refused changes
  }, 60_000);
});

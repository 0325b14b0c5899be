import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { editInPlace, makeFixture } from '../helpers/verify-fixture.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };

describe('snap verify (CLI)', () => {
  it('--quiet prints nothing when clean and the report when damaged (cron mails only on damage)', async () => {
    const f = await makeFixture();
    const clean = runCli(['verify', f.root, '--quiet'], { env: ENV });
    expect(clean.code).toBe(0);
    expect(clean.stdout + clean.stderr).toBe('');
    editInPlace(path.join(f.root, f.snaps[0]!, 'docs/a.txt'), 'ALPHA');
    const bad = runCli(['verify', f.root, '--quiet'], { env: ENV });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/object-content: copy\/a.txt, docs\/a.txt/);
  });

  it('exits 0 on a clean store with a one-line summary, and nothing decorative when not a TTY', async () => {
    const f = await makeFixture();
    const r = runCli(['verify', f.root], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^snap: verified 3 snapshots, \d+ paths, 7 objects \(.*hashed\), full, in .*: no damage\n$/);
    expect(r.stderr).toBe('');
    expect(runCli(['verify', f.root, '--quick'], { env: ENV }).stdout).toMatch(/quick \(no content read\)/);
  });

  it('exits 1 and groups damage by snapshot, naming every path; --json has the documented shape', async () => {
    const f = await makeFixture();
    editInPlace(path.join(f.root, f.snaps[0]!, 'docs/a.txt'), 'ALPHA');
    fs.rmSync(path.join(f.root, f.snaps[2]!, 'change.txt'));
    const r = runCli(['verify', f.root], { env: ENV });
    expect(r.code).toBe(1);
    for (const s of f.snaps) expect(r.stdout).toContain(`${s}\n  object-content: copy/a.txt, docs/a.txt\n`);
    expect(r.stdout).toContain(`  entry-missing: change.txt\n`);
    expect(r.stdout).toMatch(/DAMAGE: 3 problems found; run `snap verify --repair`\n$/);

    const j = runCli(['verify', f.root, '--json'], { env: ENV });
    expect(j.code).toBe(1);
    const report = JSON.parse(j.stdout);
    expect(report).toMatchObject({ root: f.root, tier: 'full', snapshots: f.snaps, damaged: true, repair: false });
    expect(Object.keys(report.counts).sort()).toEqual(['bytesHashed', 'damage', 'entries', 'info', 'objects', 'objectsHashed', 'repaired', 'snapshots', 'unrepaired']);
    const oc = report.findings.find((x: { kind: string }) => x.kind === 'object-content');
    expect(oc).toMatchObject({ severity: 'damage', snapshots: f.snaps });
    expect(oc.paths).toHaveLength(6);
    expect(typeof oc.message).toBe('string');
    expect(oc.object).toMatch(/^[0-9a-f]{64}_/);
  });

  it('--repair exits 0 when everything was repaired, 1 when something could not be', async () => {
    const f = await makeFixture();
    fs.rmSync(path.join(f.root, f.snaps[1]!), { recursive: true });
    const r = runCli(['verify', f.root, '--repair'], { env: ENV });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${f.snaps[1]}\n  folder-missing [repaired]: .`);
    expect(r.stdout).toMatch(/repaired 1 problem; now clean/);
    expect(runCli(['verify', f.root], { env: ENV }).code).toBe(0);

    fs.writeFileSync(path.join(f.latest, 'shared.txt'), 'moved on');
    editInPlace(path.join(f.root, f.snaps[0]!, 'shared.txt'), 'SHARED');
    const bad = runCli(['verify', f.root, '--repair'], { env: ENV });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('object-content [NOT repaired]: shared.txt');
    expect(bad.stdout).toMatch(/no intact copy/);
    expect(bad.stdout).toMatch(/DAMAGE: 1 problem could not be repaired/);
  });

  it('exits 2 on usage errors and bad input, with one line and no stack trace', async () => {
    const f = await makeFixture();
    const empty = tempDir();
    const cases: [string[], RegExp][] = [
      [['verify', f.root, '--sample', '0'], /--sample must be a percentage/],
      [['verify', f.root, '--sample', 'abc'], /--sample must be a percentage/],
      [['verify', f.root, '--quick', '--sample', '5'], /exclude each other/],
      [['verify', f.root, '1999-01-01_00.00.00'], /no snapshot named/],
      [['verify', path.join(empty, 'nope')], /does not exist/],
      [['verify', empty], /no linksnap store/],
      [['verify'], /missing required argument/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args, { env: ENV });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

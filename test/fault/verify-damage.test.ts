/**
 * Damage a store with several snapshots in each way the issue names and check what the user
 * sees: `snap verify` exits 1 and names the kind and every affected path (--json), and
 * `snap verify --repair` brings the store back to a clean verify (exit 0) where it can.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { editInPlace, makeFixture, objectFileOf, type Fixture } from '../helpers/verify-fixture.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };

interface Case {
  name: string;
  damage: (f: Fixture) => void;
  kind: string;
  paths: (f: Fixture) => string[];
  repairable: boolean;
  args?: string[];
}

const all = (f: Fixture, rel: string) => f.snaps.map((s) => `${s}/${rel}`);

const CASES: Case[] = [
  {
    name: 'an in-place edit through a link',
    damage: (f) => editInPlace(path.join(f.root, f.snaps[0]!, 'shared.txt'), 'SHARED'),
    kind: 'object-content',
    paths: (f) => all(f, 'shared.txt'),
    repairable: true,
  },
  {
    name: 'bit rot in an object',
    damage: (f) => editInPlace(objectFileOf(f.root, f.snaps[0]!, 'docs/deep/big.bin'), Buffer.from([9])),
    kind: 'object-content',
    paths: (f) => all(f, 'docs/deep/big.bin'),
    repairable: true,
  },
  {
    name: 'a chmod through a link',
    damage: (f) => fs.chmodSync(path.join(f.root, f.snaps[2]!, 'docs/a.txt'), 0o600),
    kind: 'object-metadata',
    paths: (f) => [...all(f, 'copy/a.txt'), ...all(f, 'docs/a.txt')],
    repairable: true,
    args: ['--quick'],
  },
  {
    name: 'an mtime change through a link',
    damage: (f) => fs.utimesSync(path.join(f.root, f.snaps[1]!, 'shared.txt'), new Date(), new Date()),
    kind: 'object-metadata',
    paths: (f) => all(f, 'shared.txt'),
    repairable: true,
  },
  {
    name: 'a deleted object',
    damage: (f) => fs.rmSync(objectFileOf(f.root, f.snaps[1]!, 'change.txt')),
    kind: 'object-missing',
    paths: (f) => [`${f.snaps[1]}/change.txt`],
    repairable: true,
  },
  {
    name: 'an rm in a dated folder',
    damage: (f) => fs.rmSync(path.join(f.root, f.snaps[1]!, 'docs/a.txt')),
    kind: 'entry-missing',
    paths: (f) => [`${f.snaps[1]}/docs/a.txt`],
    repairable: true,
  },
  {
    name: 'a file added to a dated folder',
    damage: (f) => fs.writeFileSync(path.join(f.root, f.snaps[0]!, 'empty/new'), 'x'),
    kind: 'entry-extra',
    paths: (f) => [`${f.snaps[0]}/empty/new`],
    repairable: true,
  },
  {
    name: 'a file replaced by a copy with the same bytes',
    damage: (f) => {
      const p = path.join(f.root, f.snaps[2]!, 'change.txt');
      const st = fs.statSync(p);
      const dir = fs.statSync(path.dirname(p));
      fs.copyFileSync(p, p + '.new');
      fs.renameSync(p + '.new', p);
      fs.utimesSync(p, st.atime, st.mtime);
      fs.utimesSync(path.dirname(p), dir.atime, dir.mtime);
    },
    kind: 'entry-replaced',
    paths: (f) => [`${f.snaps[2]}/change.txt`],
    repairable: true,
  },
  {
    name: 'a folder replaced by a file',
    damage: (f) => {
      const p = path.join(f.root, f.snaps[0]!, 'empty');
      const dir = fs.statSync(path.dirname(p));
      fs.rmdirSync(p);
      fs.writeFileSync(p, '');
      fs.utimesSync(path.dirname(p), dir.atime, dir.mtime);
    },
    kind: 'entry-kind',
    paths: (f) => [`${f.snaps[0]}/empty`],
    repairable: true,
  },
  {
    name: 'a chmod of a folder',
    damage: (f) => fs.chmodSync(path.join(f.root, f.snaps[1]!, 'docs/deep'), 0o777),
    kind: 'entry-metadata',
    paths: (f) => [`${f.snaps[1]}/docs/deep`],
    repairable: true,
  },
  {
    name: 'a retargeted symlink',
    damage: (f) => {
      const p = path.join(f.root, f.snaps[2]!, 'link');
      const st = fs.lstatSync(p);
      const dir = fs.statSync(path.dirname(p));
      fs.rmSync(p);
      fs.symlinkSync('/etc/shadow', p);
      fs.lutimesSync(p, st.atime, st.mtime);
      fs.utimesSync(path.dirname(p), dir.atime, dir.mtime);
    },
    kind: 'symlink-target',
    paths: (f) => [`${f.snaps[2]}/link`],
    repairable: true,
  },
  {
    name: 'a deleted dated folder',
    damage: (f) => fs.rmSync(path.join(f.root, f.snaps[1]!), { recursive: true }),
    kind: 'folder-missing',
    paths: (f) => [f.snaps[1]!],
    repairable: true,
  },
  {
    name: 'a catalog row removed',
    damage: (f) => {
      const rw = openRoot(f.root);
      try {
        rw.catalog.db.prepare('DELETE FROM objects WHERE size = 8').run(); // the non-UTF-8 named file
      } finally {
        rw.close();
      }
    },
    kind: 'catalog-invariant',
    paths: (f) => all(f, 'n\\xff\\x0am'),
    repairable: false,
  },
];

describe('verify names each kind of damage (CLI)', () => {
  for (const c of CASES) {
    it(`${c.name}: exit 1, ${c.kind}, every affected path${c.repairable ? '; --repair makes it clean' : ''}`, async () => {
      const f = await makeFixture();
      c.damage(f);
      const r = runCli(['verify', f.root, '--json', ...(c.args ?? [])], { env: ENV });
      expect(r.code, r.stderr).toBe(1);
      const report = JSON.parse(r.stdout) as { findings: { kind: string; severity: string; paths: string[] }[] };
      const dmg = report.findings.filter((x) => x.severity === 'damage');
      expect(dmg.map((x) => x.kind)).toContain(c.kind);
      const paths = dmg.filter((x) => x.kind === c.kind).flatMap((x) => x.paths);
      expect(paths.sort()).toEqual(c.paths(f).sort());
      const rep = runCli(['verify', f.root, '--repair', ...(c.args ?? [])], { env: ENV });
      if (c.repairable) {
        expect(rep.code, rep.stdout).toBe(0);
        expect(runCli(['verify', f.root], { env: ENV }).code).toBe(0);
      } else {
        expect(rep.code).toBe(1);
        expect(rep.stdout).toContain('[NOT repaired]');
      }
    });
  }
});

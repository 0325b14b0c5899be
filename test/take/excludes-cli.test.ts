import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';

describe('take --exclude / .snapignore / --dry-run / progress (CLI)', () => {
  it('dry run lists stored, excluded and changes nothing; the take then leaves the same paths out', () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, '.sync'));
    fs.writeFileSync(path.join(latest, '.sync/ID'), 'id');
    fs.writeFileSync(path.join(latest, '.syncthing.song.tmp'), 'partial');
    fs.writeFileSync(path.join(latest, 'song.mp3'), 'music');
    fs.writeFileSync(path.join(latest, 'build.o'), 'obj');
    fs.writeFileSync(path.join(latest, 'x.log'), 'log');
    fs.writeFileSync(path.join(root, '.snapignore'), '*.o\n');

    const dry = runCli(['take', root, '--dry-run', '--exclude', '*.log']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.split('\n').filter(Boolean).sort()).toEqual(['+ song.mp3', '- .sync/', '- .syncthing.song.tmp', '- build.o', '- x.log']);
    expect(dry.stderr).toMatch(/dry run, nothing changed: would snapshot 1 file/);
    expect(fs.readdirSync(root).sort()).toEqual(['.latest', '.snapignore']); // no store, no lock file

    const j = runCli(['take', root, '--dry-run', '--json', '--no-default-excludes']);
    const parsed = JSON.parse(j.stdout);
    expect(parsed).toMatchObject({ dryRun: true, files: 4, excluded: 1 });
    expect(parsed.entries).toContainEqual({ path: 'build.o', kind: 'file', status: 'excluded' });

    const t = runCli(['take', root, '--exclude', '*.log', '--verbose']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/excluded: \.sync\//);
    expect(t.stderr).toMatch(/read and hashed 1 file/);
    const snap = t.stdout.trim().split('\n').at(-1)!;
    expect(fs.readdirSync(snap)).toEqual(['song.mp3']);
    expect(t.stderr).not.toMatch(/\x1b\[|\r/); // no progress drawing when stderr is not a terminal
  });

  it('draws progress only when asked to (stderr is a pipe here)', () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(latest, `f${i}`), 'x'.repeat(i * 100));
    const r = runCli(['take', root], { env: { LINKSNAP_PROGRESS: 'always' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/take: .*files, .*\/s/);
    const q = runCli(['take', root, '--quiet'], { env: { LINKSNAP_PROGRESS: 'always' } });
    expect(q.stderr).toBe('');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';

describe('snap diff (CLI)', () => {
  it('lists changes against .latest and between snapshots, as text and JSON', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a.txt'), 'will move');
    fs.writeFileSync(path.join(latest, 'c'), 'v1');
    const a = JSON.parse(runCli(['take', root, '--json']).stdout).snapshot as string;
    fs.renameSync(path.join(latest, 'a.txt'), path.join(latest, 'b.txt'));
    fs.writeFileSync(path.join(latest, 'c'), 'v22');
    fs.writeFileSync(path.join(latest, 'x.!sync'), 'partial download'); // excluded by default

    const live = runCli(['diff', root, a]);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toBe('R  a.txt -> b.txt\nM  c  (content, mtime)  2 B -> 3 B\n');
    expect(live.stderr).toMatch(/-> \.latest: 0 added, 0 removed, 1 changed, 1 renamed/);
    const noDefaults = runCli(['diff', root, a, '.latest', '--no-default-excludes', '--exclude', 'c']);
    expect(noDefaults.stdout).toBe('R  a.txt -> b.txt\nD  c\nA  x.!sync\n'); // excluded now = gone next take

    await new Promise((r) => setTimeout(r, 1100)); // the next take gets a new name
    const b = JSON.parse(runCli(['take', root, '--json']).stdout).snapshot as string;
    const j = runCli(['diff', root, a, b, '--json']);
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout);
    expect(parsed).toMatchObject({ a, b, summary: { added: 0, removed: 0, changed: 1, renamed: 1 }, warnings: [] });
    expect(parsed.items).toEqual([
      { status: 'renamed', path: 'b.txt', from: 'a.txt', kind: 'file', size: 9 },
      { status: 'changed', path: 'c', kind: 'file', size: 3, oldSize: 2, changes: ['content', 'mtime'] },
    ]);
    const same = runCli(['diff', root, b]);
    expect(same.stdout).toBe('');
    expect(same.stderr).toMatch(/no differences/);

    const bad = runCli(['diff', root, 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no snapshot named nope\n  run `snap list/);
  });
});

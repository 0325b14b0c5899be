import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { runsOf } from '../../src/cli/commands/find.js';

describe('snap find (CLI)', () => {
  it('finds matching paths and the snapshots holding them', () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'p/2024'), { recursive: true });
    fs.writeFileSync(path.join(latest, 'p/2024/a.jpg'), 'a');
    fs.writeFileSync(path.join(latest, 'notes.txt'), 'n');
    const s = JSON.parse(runCli(['take', root, '--json']).stdout).snapshot as string;
    const r = runCli(['find', root, '*.jpg']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('p/2024/a.jpg  (all 1 snapshots)\n');
    const j = runCli(['find', root, 'p/**/*.jpg', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({
      glob: 'p/**/*.jpg',
      matches: [{ path: 'p/2024/a.jpg', kind: 'file', snapshots: [s] }],
      snapshots: [{ name: s, matches: 1 }],
      searched: 1,
    });
    const none = runCli(['find', root, '*.png']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/nothing matches "\*\.png"/);
  });

  it('shows runs of consecutive snapshots as ranges', () => {
    const order = ['s1', 's2', 's3', 's4', 's5'];
    expect(runsOf(['s1', 's2', 's3', 's5'], order)).toBe('s1..s3, s5');
    expect(runsOf(['s2'], order)).toBe('s2');
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('snap log (CLI)', () => {
  it('shows the history of one path, as text and JSON', async () => {
    const { root, latest } = newRoot();
    const f = path.join(latest, 'r.txt');
    fs.writeFileSync(f, 'v1');
    const s1 = JSON.parse(runCli(['take', root, '--json']).stdout).snapshot as string;
    await sleep(1100);
    fs.writeFileSync(f, 'version 2');
    const s2 = JSON.parse(runCli(['take', root, '--json']).stdout).snapshot as string;
    await sleep(1100);
    fs.rmSync(f);
    const s3 = JSON.parse(runCli(['take', root, '--json', '--allow-shrink']).stdout).snapshot as string; // the source is empty now

    const r = runCli(['log', root, 'r.txt']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${s1}  appeared +file +2 B$`));
    expect(lines[1]).toMatch(new RegExp(`^${s2}  changed +file +2 B -> 9 B  \\(content, mtime\\)$`));
    expect(lines[2]).toMatch(new RegExp(`^${s3}  disappeared +file$`));
    expect(r.stderr).toMatch(/r\.txt: in 2 of 3 snapshots, 1 changes/);

    const j = runCli(['log', root, 'r.txt', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({
      path: 'r.txt',
      present: 2,
      snapshots: 3,
      presentIn: [s1, s2],
      events: [
        { snapshot: s1, event: 'appeared', kind: 'file', size: 2 },
        { snapshot: s2, event: 'changed', kind: 'file', size: 9, oldSize: 2, changes: ['content', 'mtime'] },
        { snapshot: s3, event: 'disappeared', kind: 'file', oldSize: 9 },
      ],
    });
    const none = runCli(['log', root, 'never']);
    expect(none.code).toBe(0);
    expect(none.stderr).toMatch(/in none of the 3 snapshots.*snap find/);
    const bad = runCli(['log', root, '../x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/may not contain '\.\.'/);
    const noStore = runCli(['log', tempDir(), 'x']);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toMatch(/no linksnap store[\s\S]*snap take/);
  });
});

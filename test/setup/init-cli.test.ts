import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('snap init (CLI)', () => {
  it('creates the root, .latest as a symlink and the store, and prints a working cron line', () => {
    const base = tempDir();
    const data = path.join(base, 'data');
    fs.mkdirSync(data);
    fs.writeFileSync(path.join(data, 'f'), 'x');
    const root = path.join(base, 'backups/music');
    const r = runCli(['init', root, '--source', data]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readlinkSync(path.join(root, '.latest'))).toBe(data);
    expect(fs.statSync(path.join(root, '.snap')).mode & 0o777).toBe(0o700);
    const cron = r.stdout.trim();
    expect(cron).toMatch(/^0 3 \* \* \* +\S+node\S* \S+main\.js take \S+ --quiet$/);
    expect(r.stderr).toMatch(/snap take/);
    // The cron line works as written (minus the schedule).
    const cmd = cron.split(/\s+/).slice(5);
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const run = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe('');

    const again = runCli(['init', root, '--source', data, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ root, source: data, created: { root: false, latest: false, store: false }, cronLine: cron });

    const elsewhere = path.join(base, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const other = runCli(['init', root, '--source', elsewhere]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/already exists and points to[\s\S]*rm /);
    const inside = runCli(['init', path.join(data, 'backups'), '--source', data]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/inside --source/);
    const plain = runCli(['init', path.join(base, 'plain'), '-q']);
    expect(plain.code).toBe(0);
    expect(fs.statSync(path.join(base, 'plain/.latest')).isDirectory()).toBe(true);
    expect(plain.stderr).toBe('');
  });
});

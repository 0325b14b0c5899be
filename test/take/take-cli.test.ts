import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

describe('snap take / list (CLI)', () => {
  it('prints the new folder as the last line of stdout and a summary on stderr', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'hello.txt'), 'hi');
    const r = runCli(['take', root]);
    expect(r.code).toBe(0);
    const last = r.stdout.trim().split('\n').at(-1)!;
    expect(path.dirname(last)).toBe(root);
    expect(fs.readFileSync(path.join(last, 'hello.txt'), 'utf8')).toBe('hi');
    expect(r.stderr).toMatch(/1 file, 2 B/);
  });

  it('prints a JSON summary with --json, and list shows the snapshots', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'aaa');
    const r = runCli(['take', root, '--json', '--keep', '3']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ files: 1, bytes: 3, newObjects: 1, newBytes: 3, dedupBytes: 0, rotated: [], warningCount: 0 });
    expect(typeof j.seconds).toBe('number');
    const l = runCli(['list', root, '--json']);
    expect(l.code).toBe(0);
    expect(JSON.parse(l.stdout)).toEqual([expect.objectContaining({ name: j.snapshot, files: 1, bytes: 3, pinned: false })]);
    const human = runCli(['list', root]);
    expect(human.stdout).toContain(j.snapshot);
  });

  it('exits 2 with one line and no stack trace on bad input', () => {
    const root = tempDir();
    const cases: [string[], RegExp][] = [
      [['take', root], /\.latest does not exist/],
      [['take', path.join(root, 'missing')], /does not exist/],
      [['take', root, '--keep', '0'], /--keep must be a positive integer/],
      [['take', root, '--keep', 'abc'], /--keep must be a positive integer/],
      [['frobnicate'], /unknown command/],
      [['take'], /missing required argument/],
      [['list', root], /no linksnap store/],
    ];
    for (const [args, msg] of cases) {
      const r = runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack frames
    }
  });

  it('documents the exit codes in --help', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:[\s\S]*4\s+another linksnap run holds the lock/);
  });
});

describe('output into a closed pipe', () => {
  it('stops quietly when the reader goes away (snap find … | head -1)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI } = await import('../helpers/cli.js');
    const { root, latest } = newRoot();
    for (let i = 0; i < 4000; i++) fs.writeFileSync(path.join(latest, `file-with-a-long-name-${i}.txt`), String(i));
    expect(runCli(['take', root, '-q']).code).toBe(0);
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${CLI}" find "${root}" '**' | head -1 >/dev/null; echo "status=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(r.stderr).toMatch(/status=0/);
    expect(r.stderr).not.toMatch(/EPIPE|\n\s+at /);
  });
});

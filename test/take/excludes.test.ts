import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { buildExcludes, excludeFnOf, DEFAULT_EXCLUDES } from '../../src/ops/take/excludes.js';
import { takeDryRun, type DryRunEntry } from '../../src/ops/take/dry-run.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('excludes', () => {
  it('leaves out sync tools\' temporary files by default, and not with defaults off', () => {
    const root = tempDir();
    const m = buildExcludes(root);
    expect(DEFAULT_EXCLUDES.length).toBeGreaterThan(0);
    expect(m.exclude(b('music/.syncthing.song.mp3.tmp'), false)).toBe(true);
    expect(m.exclude(b('~syncthing~x.tmp'), false)).toBe(true);
    expect(m.exclude(b('a/b/song.mp3.!sync'), false)).toBe(true);
    expect(m.exclude(b('.sync'), true)).toBe(true);
    expect(m.exclude(b('deep/.sync'), true)).toBe(true);
    expect(m.exclude(b('.sync'), false)).toBe(false); // a file named .sync is data
    expect(m.exclude(b('song.mp3'), false)).toBe(false);
    const off = buildExcludes(root, { defaults: false });
    expect(off.empty).toBe(true);
    expect(off.exclude(b('x.!sync'), false)).toBe(false);
  });

  it('reads <root>/.snapignore (gitignore syntax, later rules win) and --exclude patterns, byte-exact', () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, '.snapignore'), '# comment\n*.log\n!keep.log\ncache/\n/top-only\nweird\xff*\n'.replace('\xff', '') + 'x\xff\n');
    fs.appendFileSync(path.join(root, '.snapignore'), Buffer.from([0x62, 0xff, 0x0a])); // "b\xff" raw bytes
    const m = buildExcludes(root, { patterns: ['*.tmp', '!*.!sync'] });
    expect(m.sources.snapignore).toBe(path.join(root, '.snapignore'));
    expect(m.exclude(b('a/b/x.log'), false)).toBe(true);
    expect(m.exclude(b('a/keep.log'), false)).toBe(false);
    expect(m.exclude(b('cache'), true)).toBe(true);
    expect(m.exclude(b('cache'), false)).toBe(false);
    expect(m.exclude(b('top-only'), false)).toBe(true);
    expect(m.exclude(b('sub/top-only'), false)).toBe(false);
    expect(m.exclude(b('z.tmp'), false)).toBe(true);
    expect(m.exclude(b('song.!sync'), false)).toBe(false); // re-included by a later rule
    expect(m.exclude(Buffer.from([0x62, 0xff]), false)).toBe(true);
    expect(m.exclude(Buffer.from([0x62, 0xfe]), false)).toBe(false);
    expect(m.exclude(Buffer.from('bad\n\x01name'), false)).toBe(false); // no crash on control bytes
    expect(() => buildExcludes(root, { patterns: [' '] })).toThrow(/non-empty/);
  });

  it('a take leaves excluded paths out, and a dry run lists them without creating anything', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, '.sync'));
    fs.writeFileSync(path.join(latest, '.sync/ID'), 'id');
    fs.writeFileSync(path.join(latest, 'song.!sync'), 'partial');
    fs.writeFileSync(path.join(latest, 'song.mp3'), 'music');
    fs.writeFileSync(path.join(latest, 'debug.log'), 'noise');
    const exclude = excludeFnOf(buildExcludes(root, { patterns: ['*.log'] }));
    const seen: DryRunEntry[] = [];
    const dry = await takeDryRun(root, { exclude, onEntry: (e) => seen.push(e) });
    expect(fs.readdirSync(root)).toEqual(['.latest']); // no store, no lock file
    expect(dry).toMatchObject({ files: 1, bytes: 5, changedFiles: 1, excluded: 3 });
    expect(seen.map((e) => `${e.status} ${e.path}`).sort()).toEqual(['changed song.mp3', 'excluded .sync', 'excluded debug.log', 'excluded song.!sync']);

    const t = await take(root, { exclude, racyWindowMs: 0 });
    expect(fs.readdirSync(t.path).sort()).toEqual(['song.mp3']);
    const again = await takeDryRun(root, { exclude });
    expect(again.changedFiles).toBe(0); // its quick-check record vouches for song.mp3 now
    expect((await takeDryRun(root, { exclude, checksum: true })).changedFiles).toBe(1);
  });

  it('a dry run after a change of exclude rules answers as the take would: every file is read again', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a.txt'), 'a');
    fs.writeFileSync(path.join(latest, 'b.txt'), 'b');
    const before = excludeFnOf(buildExcludes(root, { patterns: ['*.log'] }));
    await take(root, { exclude: before, racyWindowMs: 0 });
    expect((await takeDryRun(root, { exclude: before })).changedFiles).toBe(0);

    const after = excludeFnOf(buildExcludes(root, { patterns: ['*.tmp'] }));
    const dry = await takeDryRun(root, { exclude: after });
    const real = await take(root, { exclude: after, racyWindowMs: 0 });
    expect(dry.changedFiles).toBe(2);
    expect(real.hashedFiles).toBe(dry.changedFiles);
    expect(real.newObjects).toBe(0); // read again, stored once
    // Under the new rules the records are trusted again, by the take and by its preview.
    expect((await takeDryRun(root, { exclude: after })).changedFiles).toBe(0);
    expect((await take(root, { exclude: after, racyWindowMs: 0 })).hashedFiles).toBe(0);
  });
});

/**
 * The flush order checked on the real system calls (strace), not on linksnap's own trace: a
 * take that fsyncs nothing, or does not wait for it, fails here. Beside much unwritten data of
 * others, every new object is fsynced (after it is published, before the commit), then the
 * fan-out folders, then the catalog's commit, and the commit is on disk before the dated folder
 * is renamed into view. Needs strace (`apt-get install
 * strace`; .ci/run installs it); skipped with a message without it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

const strace = spawnSync('sh', ['-c', 'command -v strace']).status === 0;
if (!strace) console.warn('durability-syscalls: strace is not installed; skipping (apt-get install strace)');

describe.skipIf(!strace)('the system calls of a take that stores new files', () => {
  it('fsyncs each new object, the folders of their names and the catalog before the rename into view', () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(latest, `f${i}`), `content ${i}`);
    fs.writeFileSync(path.join(latest, 'big'), Buffer.alloc(2 << 20, 9));
    const log = path.join(tempDir(), 'strace.log');
    const r = spawnSync('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2', '-o', log, process.execPath, CLI, 'take', root], {
      encoding: 'utf8',
      env: { ...process.env, LINKSNAP_NO_SYNC: '', LINKSNAP_TEST_UNWRITTEN_KIB: String(4 * 2 ** 20) }, // others' unwritten data: fsync each object
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const snap = path.basename(r.stdout.trim());

    // Each object: published by link(<file>, ".snap/objects/xx/<object>"), then fsynced by that
    // name before the fan-out folders, the catalog's commit and the rename into view. (strace
    // may split a call into "<unfinished ...>" and "resumed" lines.)
    const objectsDir = path.join(root, '.snap/objects');
    const objects = fs.readdirSync(objectsDir).flatMap((d) => fs.readdirSync(path.join(objectsDir, d)).map((n) => path.join(objectsDir, d, n)));
    expect(objects.length).toBe(6);
    const syncs = objects.map((obj) => {
      const published = lines.findIndex((l) => (/\blink(at)?\(/.test(l) && l.includes(`, "${obj}"`)) || l.includes(`, AT_FDCWD, "${obj}"`));
      expect(published, `the publish of ${obj}`).toBeGreaterThanOrEqual(0);
      const synced = lines.findIndex((l, i) => i > published && /\bf(data)?sync\(/.test(l) && l.includes(`<${obj}>`));
      expect(synced, `the fsync of ${obj} after its publish`).toBeGreaterThan(published);
      return synced;
    });
    const lastObjectSync = Math.max(...syncs);
    const fanSync = lines.findIndex((l, i) => i > lastObjectSync && /\bfsync\(\d+<[^>]*\.snap\/objects\/[0-9a-f]{2}>/.test(l));
    const walSync = lines.findIndex((l, i) => i > fanSync && /f(data)?sync\(\d+<[^>]*catalog\.db-wal>/.test(l));
    const intoView = at(new RegExp(`rename(at2?)?\\(.*staging/${snap}".*"${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${snap}"`));
    expect(fanSync).toBeGreaterThan(lastObjectSync);
    expect(walSync).toBeGreaterThan(fanSync);
    expect(intoView).toBeGreaterThan(walSync);
    expect(lines.some((l) => /syncfs/.test(l))).toBe(false);
  });
});

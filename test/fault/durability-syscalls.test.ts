/**
 * The flush order checked on the real system calls (strace), not on linksnap's own trace: a
 * take that fsyncs nothing, or does not wait for it, fails here. Every new object is fsynced
 * before its name is published, the fan-out folders before the catalog's commit, and the commit
 * is on disk before the dated folder is renamed into view. Needs strace (`apt-get install
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
  it('fsyncs each new object before publishing it, the folders of their names and the catalog before the rename into view', () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(latest, `f${i}`), `content ${i}`);
    fs.writeFileSync(path.join(latest, 'big'), Buffer.alloc(2 << 20, 9));
    const log = path.join(tempDir(), 'strace.log');
    const r = spawnSync('strace', ['-f', '-qq', '-y', '-e', 'trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2', '-o', log, process.execPath, CLI, 'take', root], {
      encoding: 'utf8',
      env: { ...process.env, LINKSNAP_NO_SYNC: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = fs.readFileSync(log, 'utf8').split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const snap = path.basename(r.stdout.trim());

    // Each object: published by link(<file>, ".snap/objects/xx/<object>") after an fsync of
    // that very file. (strace may split a call into "<unfinished ...>" and "resumed" lines.)
    const objectsDir = path.join(root, '.snap/objects');
    const objects = fs.readdirSync(objectsDir).flatMap((d) => fs.readdirSync(path.join(objectsDir, d)).map((n) => path.join(objectsDir, d, n)));
    expect(objects.length).toBe(6);
    const publishes = objects.map((obj) => {
      const i = lines.findIndex((l) => /\blink(at)?\(/.test(l) && l.includes(`, "${obj}"`) || l.includes(`, AT_FDCWD, "${obj}"`));
      expect(i, `the publish of ${obj}`).toBeGreaterThanOrEqual(0);
      const src = /"([^"]+)"/.exec(lines[i]!)![1]!;
      const synced = lines.slice(0, i).some((x) => /\bf(data)?sync\(/.test(x) && x.includes(`<${src}>`));
      expect(synced, `fsync of ${src} before its publish`).toBe(true);
      return { i };
    }).sort((x, y) => x.i - y.i);
    const lastPublish = publishes.at(-1)!.i;
    const fanSync = lines.findIndex((l, i) => i > lastPublish && /\bfsync\(\d+<[^>]*\.snap\/objects\/[0-9a-f]{2}>/.test(l));
    const walSync = lines.findIndex((l, i) => i > fanSync && /f(data)?sync\(\d+<[^>]*catalog\.db-wal>/.test(l));
    const intoView = at(new RegExp(`rename(at2?)?\\(.*staging/${snap}".*"${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${snap}"`));
    expect(fanSync).toBeGreaterThan(lastPublish);
    expect(walSync).toBeGreaterThan(fanSync);
    expect(intoView).toBeGreaterThan(walSync);
    expect(lines.some((l) => /syncfs/.test(l))).toBe(false);
  });
});

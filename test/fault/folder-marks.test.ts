/**
 * Dated folders are views of the catalog, and a take does not flush them: each is marked with
 * the boot it was made in. A power cut may lose entries of such a folder; the first locked run
 * after a reboot rebuilds every folder still marked from an earlier boot, before anything else.
 * A reboot is simulated here with LINKSNAP_TEST_BOOT_ID, the loss by deleting entries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { openRoot } from '../../src/ops/shared/root.js';

function marks(root: string): Record<string, string | null> {
  const r = openRoot(root, { readonly: true });
  try {
    return Object.fromEntries((r.catalog.db.prepare('SELECT name, folder_boot FROM snapshots').all() as { name: string; folder_boot: string | null }[]).map((x) => [x.name, x.folder_boot]));
  } finally {
    r.close();
  }
}


/** 4 GiB of another process's unwritten data: a take fsyncs its own objects and marks its folder, rather than flushing the file system. */
const OTHERS_WRITING = { LINKSNAP_TEST_UNWRITTEN_KIB: String(4 * 2 ** 20) };
describe('marks on dated folders not known to be on disk', () => {
  it('after a reboot, the next locked run rebuilds a marked folder that lost links and entries', () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'd'));
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(latest, 'd', `f${i}`), `${i}`);
    const before = { LINKSNAP_TEST_BOOT_ID: 'boot-1', LINKSNAP_NO_SYNC: '1', ...OTHERS_WRITING };
    const t = runCli(['take', root], { env: before });
    expect(t.code, t.stderr).toBe(0);
    const snap = t.stdout.trim();
    expect(marks(root)[path.basename(snap)]).toBe('boot-1');

    // A power cut lost what was not yet written back: some links, a whole folder entry.
    for (let i = 0; i < 5; i++) fs.rmSync(path.join(snap, 'd', `f${i}`));
    fs.chmodSync(snap, 0o755);
    fs.rmSync(path.join(snap, 'd'), { recursive: true });

    // The same boot: nothing is rebuilt (the folder is as the page cache has it).
    expect(runCli(['gc', root], { env: before }).code).toBe(0);
    expect(fs.existsSync(path.join(snap, 'd'))).toBe(false);

    // Another boot: the first locked run (here gc) rebuilds it and clears the mark.
    const after = { LINKSNAP_TEST_BOOT_ID: 'boot-2', LINKSNAP_NO_SYNC: '1', ...OTHERS_WRITING };
    expect(runCli(['gc', root], { env: after }).code).toBe(0);
    expect(fs.readdirSync(path.join(snap, 'd')).length).toBe(20);
    expect(marks(root)[path.basename(snap)]).toBeNull();
    expect(runCli(['verify', root], { env: after }).code).toBe(0);
  });

  it('a committed snapshot whose rename was lost is published and rebuilt after a reboot', () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(latest, `f${i}`), `${i}`);
    const killed = runCli(['take', root], { env: { LINKSNAP_TEST_BOOT_ID: 'boot-1', LINKSNAP_NO_SYNC: '1', ...OTHERS_WRITING, LINKSNAP_CRASH_AFTER: '1', LINKSNAP_CRASH_AT: '^take:committed$' } });
    expect(killed.code).not.toBe(0);
    const [staged] = fs.readdirSync(path.join(root, '.snap/staging'));
    // Part of the staged folder never reached the disk.
    for (let i = 0; i < 4; i++) fs.rmSync(path.join(root, '.snap/staging', staged!, `f${i}`));
    const r = runCli(['take', root, '--allow-shrink'], { env: { LINKSNAP_TEST_BOOT_ID: 'boot-2', LINKSNAP_NO_SYNC: '1', ...OTHERS_WRITING } });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(path.join(root, staged!)).length).toBe(10);
    expect(runCli(['verify', root], { env: { LINKSNAP_NO_SYNC: '1' } }).code).toBe(0);
  });

  it('a take that flushed the whole file system leaves no mark, on its folder or older ones', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'a'), 'a');
    const env = { LINKSNAP_TEST_BOOT_ID: 'boot-1', LINKSNAP_NO_SYNC: '1', ...OTHERS_WRITING };
    expect(runCli(['take', root], { env }).code).toBe(0);
    fs.writeFileSync(path.join(latest, 'b'), 'b');
    expect(runCli(['take', root], { env: { ...env, LINKSNAP_TEST_FSYNC_LIMIT: '0' } }).code).toBe(0);
    expect(Object.values(marks(root))).toEqual([null, null]);
  });
});

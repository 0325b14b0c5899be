/**
 * `snap restore` creates every destination file with O_EXCL: a file that appears at the
 * destination between the checks and the open — here a hard link to someone else's file,
 * injected through the restore's test seam just before the open — is never opened, written,
 * chmod'ed or touched. The restore fails (EXISTS) and the victim stays exactly as it was.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { restore } from '../../src/ops/browse/restore.js';
import { SnapError } from '../../src/errors.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

process.env.LINKSNAP_NO_SYNC = '1';

function victimState(p: string): string {
  const st = fs.lstatSync(p, { bigint: true });
  return `${fs.readFileSync(p, 'utf8')} ${st.mode} ${st.mtimeNs} ${st.uid}:${st.gid} ${st.ino}`;
}

async function setup() {
  const { root, latest } = newRoot();
  fs.mkdirSync(path.join(latest, 'docs'));
  fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'from the snapshot');
  fs.chmodSync(path.join(latest, 'docs/a.txt'), 0o666);
  const snap = (await take(root)).snapshot;
  const victim = path.join(tempDir('linksnap-victim-'), 'precious.txt');
  fs.writeFileSync(victim, 'somebody else’s data');
  fs.chmodSync(victim, 0o600);
  fs.utimesSync(victim, new Date('2020-02-02T00:00:00Z'), new Date('2020-02-02T00:00:00Z'));
  return { root, snap, victim, before: victimState(victim) };
}

/** Just before `a.txt` is opened, a hard link to the victim appears at its destination. */
function injectLinkTo(victim: string) {
  return {
    beforeOpen: (dest: Buffer) => {
      if (path.basename(dest.toString()) === 'a.txt') fs.linkSync(victim, dest);
    },
  };
}

describe('restore never writes through a file that appears at the destination', () => {
  it('a folder restore: fails, and the hard-linked victim is untouched', async () => {
    const { root, snap, victim, before } = await setup();
    const to = path.join(tempDir(), 'out');
    const err = await restore(root, snap, { path: 'docs', to, testHooks: injectLinkTo(victim) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnapError);
    expect((err as SnapError).code).toBe('EXISTS');
    expect(victimState(victim)).toBe(before);
    expect(fs.existsSync(to)).toBe(false); // what the failed restore made is gone (the link only, never the victim)
  });

  it('a single-file restore: fails, and the hard-linked victim is untouched', async () => {
    const { root, snap, victim, before } = await setup();
    const to = path.join(tempDir(), 'a.txt');
    const err = await restore(root, snap, { path: 'docs/a.txt', to, testHooks: injectLinkTo(victim) }).catch((e: unknown) => e);
    expect((err as SnapError).code).toBe('EXISTS');
    expect(victimState(victim)).toBe(before);
    expect(fs.statSync(to).ino).toBe(fs.statSync(victim).ino); // the intruding link is left alone too
  });

  it('without an intruder the same restore writes the file (the seam changes nothing by itself)', async () => {
    const { root, snap } = await setup();
    const to = path.join(tempDir(), 'out');
    const seen: string[] = [];
    await restore(root, snap, { path: 'docs', to, testHooks: { beforeOpen: (d) => void seen.push(path.basename(d.toString())) } });
    expect(seen).toEqual(['a.txt']);
    expect(fs.readFileSync(path.join(to, 'a.txt'), 'utf8')).toBe('from the snapshot');
  });
});

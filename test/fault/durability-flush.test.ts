/**
 * The power-loss guarantee needs the flush of the store to really happen, and to be finished,
 * before the snapshot becomes visible. A real `snap take` (a separate process, flushing on)
 * runs with a stand-in `sync` first on PATH that logs its arguments, then watches the root for
 * a dated folder for a while (as long as a real flush of a busy disk might take) and logs
 * whether one appeared, and only then exits. A flush that is skipped leaves no log; a flush that
 * is not waited for lets the take commit and rename while the stand-in still watches, and the
 * stand-in sees the folder appear. No timing is asserted: only what the stand-in saw.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

/** The stand-in: `sync -f <store>`; <root> is the store's parent. Watches for 3 s in 0.1 s steps. */
const STAND_IN = `#!/bin/sh
log="$SYNC_LOG"
root=$(dirname "$2")
dated() {
  for d in "$root"/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]_*; do
    [ -e "$d" ] && { echo yes; return; }
  done
  echo no
}
echo "start $* dated=$(dated)" >> "$log"
seen=no
i=0
while [ $i -lt 30 ]; do
  [ "$(dated)" = yes ] && seen=yes
  sleep 0.1
  i=$((i + 1))
done
echo "end dated-during-flush=$seen dated=$(dated)" >> "$log"
`;

function linesOf(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}

/** The log once the stand-in that started has written its last line (a bound, not a timing check). */
async function finishedLog(file: string, limitMs = 30_000): Promise<string[]> {
  const t0 = Date.now();
  while (linesOf(file).length === 1 && Date.now() - t0 < limitMs) await new Promise((r) => setTimeout(r, 100));
  return linesOf(file);
}

describe('the flush before a take’s commit', () => {
  it('runs, and finishes before the dated folder appears', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const bin = tempDir('linksnap-bin-');
    fs.writeFileSync(path.join(bin, 'sync'), STAND_IN, { mode: 0o755 });
    const log = path.join(bin, 'log');
    // A take flushes the whole file system only past its limit of objects fsynced one by one:
    // with the limit at 0, this take does (durability-order.test.ts covers the other way).
    const r = runCli(['take', root], { env: { PATH: `${bin}:${process.env.PATH}`, SYNC_LOG: log, LINKSNAP_NO_SYNC: '', LINKSNAP_TEST_FSYNC_LIMIT: '0' } });
    expect(r.code, r.stderr).toBe(0);
    const snapshot = r.stdout.trim();
    expect(fs.existsSync(snapshot)).toBe(true);
    // (a flush that was not waited for may still be watching: wait for its last line)
    const lines = await finishedLog(log);
    expect(lines).toEqual([`start -f ${path.join(root, '.snap')} dated=no`, 'end dated-during-flush=no dated=no']);
  });
});

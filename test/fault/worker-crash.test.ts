/**
 * A worker thread that dies (here: out of memory, as one once did on a folder of 100,000 files)
 * fails the take cleanly: exit 70 naming the cause, never a hang with the lock held, never
 * reported as a file-system error, nothing half-made left behind, and the next take works.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';

describe('a dying worker thread', () => {
  it('fails the take with exit 70 and the cause, releases the lock, and leaves no half snapshot', () => {
    const { root, latest } = newRoot();
    for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(latest, `f${i}`), `${i}`);
    const r = runCli(['take', root], { env: { LINKSNAP_NO_SYNC: '1', LINKSNAP_TEST_WORKER_OOM: '1' }, timeoutMs: 30_000 });
    expect(r.code).toBe(70);
    expect(r.stderr).toMatch(/internal error: a worker thread died: .*memory/i);
    expect(r.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2); // one line and the hint, no stack
    expect(fs.readdirSync(root).sort()).toEqual(['.latest', '.snap']);
    expect(fs.readdirSync(path.join(root, '.snap/staging'))).toEqual([]);

    const ok = runCli(['take', root, '--wait', '0'], { env: { LINKSNAP_NO_SYNC: '1' } });
    expect(ok.code).toBe(0);
    expect(runCli(['verify', root], { env: { LINKSNAP_NO_SYNC: '1' } }).code).toBe(0);
  });
});

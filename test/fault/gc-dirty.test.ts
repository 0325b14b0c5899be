/**
 * A gc killed between deleting catalog rows and deleting their files leaves object files the
 * catalog no longer knows. Takes trust existing object names (the scan workers link from
 * quick-check records without asking the catalog), so such strays must be swept before the next
 * take links anything: gc marks the store dirty first, and a take that finds it dirty sweeps.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { take } from '../../src/ops/take/take.js';
import { neededObjectFiles, objectDirListing } from '../helpers/store-check.js';

const env = { LINKSNAP_NO_SYNC: '1' };

describe('a gc killed after its catalog rows are gone', () => {
  it('leaves the store dirty, and the next take sweeps the orphaned files before linking anything', async () => {
    const { root, latest } = newRoot();
    const now = steppingClock();
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(path.join(latest, 'v'), `version ${i}`);
      await take(root, { now, keep: 100, racyWindowMs: 0 });
    }
    const killed = runCli(['prune', root, '--keep-last', '1'], { env: { ...env, LINKSNAP_CRASH_AFTER: '1', LINKSNAP_CRASH_AT: '^gc:rows-deleted$' } });
    expect(killed.code).not.toBe(0);
    expect(fs.existsSync(path.join(root, '.snap/dirty'))).toBe(true);
    const needed = new Set(neededObjectFiles(root));
    const orphans = objectDirListing(root).filter((f) => !needed.has(f));
    expect(orphans.length).toBe(2); // versions 0 and 1: rows gone, files still there

    const r = runCli(['take', root, '--allow-shrink'], { env });
    expect(r.code).toBe(0);
    expect(objectDirListing(root).sort()).toEqual(neededObjectFiles(root).sort());
    expect(fs.existsSync(path.join(root, '.snap/dirty'))).toBe(false);
  });
});

/**
 * The power-loss guarantee rests on an order: flush the store (syncfs) before the catalog
 * commit, commit before the folder is renamed into view, fsync the root after the rename.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { startTrace, stopTrace } from '../../src/util/trace.js';
import { newRoot } from '../helpers/tmp.js';

describe('durability ordering of a take', () => {
  it('flushes, then commits, then renames into view, then fsyncs the root', async () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const saved = process.env.LINKSNAP_NO_SYNC;
    delete process.env.LINKSNAP_NO_SYNC;
    startTrace();
    try {
      await take(root);
    } finally {
      const events = stopTrace();
      if (saved !== undefined) process.env.LINKSNAP_NO_SYNC = saved;
      const sync = events.indexOf('syncfs');
      const commit = events.indexOf('commit');
      const rename = events.indexOf('rename');
      expect(sync).toBeGreaterThanOrEqual(0);
      expect(commit).toBeGreaterThan(sync);
      expect(rename).toBeGreaterThan(commit);
      expect(events.indexOf('fsync-dir', rename)).toBeGreaterThan(rename);
    }
  });
});

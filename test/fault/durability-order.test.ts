/**
 * The power-loss guarantee rests on an order (docs/guarantees.md, "Power loss"): every new
 * object and the fan-out folders holding their names are on disk before the catalog commit,
 * and the commit happens before the dated folder is renamed into view. A take that wrote
 * nothing flushes nothing but SQLite's own commit. A take flushes the whole file system once
 * instead of its objects one by one when little else is unwritten (or past its limit of single
 * fsyncs), and never when another process holds much unwritten data. The trace lines are written after each flush
 * returns.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTrace, stopTrace } from '../../src/util/trace.js';
import { newRoot } from '../helpers/tmp.js';

delete process.env.LINKSNAP_NO_SYNC;
/** How much unwritten data the machine holds (store/durability.ts, unwrittenBytes): it picks the flush. */
const unwritten = (kib: number) => (process.env.LINKSNAP_TEST_UNWRITTEN_KIB = String(kib));
const { take } = await import('../../src/ops/take/take.js');

async function traced(fn: () => Promise<unknown>): Promise<string[]> {
  startTrace();
  try {
    await fn();
  } finally {
    // (stopped below even when fn throws)
  }
  return stopTrace();
}

describe('durability ordering of a take', () => {
  it('beside much unwritten data of others: fsyncs the new objects and their folders, then commits, then renames into view; no syncfs', async () => {
    unwritten(4 * 2 ** 20);
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    fs.writeFileSync(path.join(latest, 'g'), Buffer.alloc(2 << 20, 3)); // a large file: the main thread's path
    const events = await traced(() => take(root));
    const flushed = events.indexOf('flush-objects');
    const commit = events.indexOf('commit');
    const rename = events.indexOf('rename');
    expect(events).not.toContain('syncfs');
    expect(events.slice(0, flushed).filter((e) => e === 'fsync-dir').length).toBeGreaterThanOrEqual(2); // fan-out folders, objects/
    expect(flushed).toBeGreaterThanOrEqual(0);
    expect(commit).toBeGreaterThan(flushed);
    expect(rename).toBeGreaterThan(commit);
  });

  it('with little else unwritten: one syncfs before the commit instead of an fsync per object', async () => {
    unwritten(0);
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const events = await traced(() => take(root));
    expect(events.filter((e) => e === 'syncfs' || e === 'flush-objects' || e === 'commit' || e === 'rename')).toEqual(['syncfs', 'commit', 'rename']);
  });

  it('a take that stored nothing new flushes nothing of its own, even with nothing else unwritten', async () => {
    unwritten(0);
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    await take(root, { racyWindowMs: 0 });
    const events = await traced(() => take(root, { racyWindowMs: 0 }));
    expect(events.filter((e) => e !== 'commit' && e !== 'rename' && e !== 'flush-objects')).toEqual([]);
    expect(events.indexOf('commit')).toBeLessThan(events.indexOf('rename'));
  });
});

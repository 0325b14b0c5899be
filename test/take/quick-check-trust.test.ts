/**
 * When the quick check may trust a record (src/model/quick-check.ts), beyond the basics in
 * take.test.ts: the racy window anchored on a network file system's own clock, and records that
 * must not outlive what they describe.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hasRecords(root: string, dir: string): boolean {
  const r = openRoot(root, { readonly: true });
  try {
    return r.catalog.quickCheck(Buffer.from(dir)) !== undefined;
  } finally {
    r.close();
  }
}

describe('quick-check trust', () => {
  it('on a network file system, does not record the entries within the window of the newest timestamp seen', async () => {
    const net = newRoot();
    const local = newRoot();
    for (const r of [net, local]) fs.writeFileSync(path.join(r.latest, 'older'), 'older');
    await sleep(400);
    for (const r of [net, local]) fs.writeFileSync(path.join(r.latest, 'newest'), 'newest');
    await sleep(400); // both are older than the local window now
    const opts = { now: steppingClock(), racyWindowMs: 200 };

    // This machine's clock stamped them: both settled, both recorded; the next take reads nothing.
    await take(local.root, opts);
    expect((await take(local.root, opts)).hashedFiles).toBe(0);

    // A server's clock may run behind ours: the newest change it stamped is not provably settled.
    const remote = { ...opts, testHooks: { networkSource: true } };
    await take(net.root, remote);
    const again = await take(net.root, remote);
    expect(again.hashedFiles).toBe(1);
    expect(again.files).toBe(2);
  });

  it('a --checksum take drops the records of folders that vanished', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'x'));
    fs.writeFileSync(path.join(latest, 'x', 'f'), 'f');
    const now = steppingClock();
    await take(root, { now, racyWindowMs: 0 });
    expect(hasRecords(root, 'x')).toBe(true);
    fs.renameSync(path.join(latest, 'x'), path.join(root, 'x-away'));
    await take(root, { now, checksum: true, allowShrink: true });
    expect(hasRecords(root, 'x')).toBe(false);
  });
});

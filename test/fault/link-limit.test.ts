/**
 * More paths with one (content, metadata) than the file system allows links per inode (EMLINK):
 * linksnap makes replicas (_r1, _r2, ...) and the snapshot is still complete and exact. The fast
 * test pretends the limit is 5 (LINKSNAP_TEST_LINK_LIMIT); the real ext4 limit (65,000) is tested
 * with 70,000 files when LINKSNAP_SLOW_TESTS=1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';

function fill(latest: string, n: number): void {
  const t = new Date('2024-01-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    const dir = path.join(latest, `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) fs.mkdirSync(dir);
    const f = path.join(dir, `f${i}`);
    fs.writeFileSync(f, 'the same bytes everywhere');
    fs.utimesSync(f, t, t);
  }
}

function objectNames(root: string): string[] {
  const o = path.join(root, '.snap/objects');
  return fs.readdirSync(o).flatMap((d) => fs.readdirSync(path.join(o, d))).sort();
}

describe('link limits (EMLINK)', () => {
  it('spreads one content over replicas when an inode is full', () => {
    const { root, latest } = newRoot();
    fill(latest, 12);
    const env = { LINKSNAP_TEST_LINK_LIMIT: '5', LINKSNAP_NO_SYNC: '1' };
    const r1 = runCli(['take', root], { env });
    expect(r1.code, r1.stderr).toBe(0);
    expect(diffTrees(readTree(latest), readTree(r1.stdout.trim()))).toEqual([]);
    const names = objectNames(root);
    expect(names).toHaveLength(3); // 1 (object) + 4 + 4 + 3 links per inode, at most 5 each
    expect(names.filter((n) => /_r\d+$/.test(n))).toHaveLength(2);
    // A second take needs more links: more replicas, still exact, and gc keeps them all.
    const r2 = runCli(['take', root], { env });
    expect(r2.code, r2.stderr).toBe(0);
    expect(diffTrees(readTree(latest), readTree(r2.stdout.trim()))).toEqual([]);
    for (const n of objectNames(root)) expect(fs.statSync(path.join(root, '.snap/objects', n.slice(0, 2), n)).nlink).toBeLessThanOrEqual(5);
  });

  it.skipIf(process.env.LINKSNAP_SLOW_TESTS !== '1')('snapshots 70,000 identical files on the real file system', () => {
    const { root, latest } = newRoot();
    fill(latest, 70_000);
    const r = runCli(['take', root, '--json'], { env: { LINKSNAP_NO_SYNC: '1' }, timeoutMs: 600_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.files).toBe(70_000);
    expect(diffTrees(readTree(latest), readTree(out.path))).toEqual([]);
    expect(objectNames(root).length).toBeGreaterThanOrEqual(2);
  }, 900_000);
});

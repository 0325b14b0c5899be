/**
 * Names are bytes: non-UTF-8, newlines, control characters, 255-byte names and paths close to
 * PATH_MAX survive a take byte-exact.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { newRoot } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s) : Buffer.from(s));

describe('hostile and unusual names', () => {
  it('keeps every byte of odd names', async () => {
    const { root, latest } = newRoot();
    const names = [b([0xff, 0xfe, 0x80]), b('new\nline'), b('tab\tand\x01ctl'), b('-rf'), b(' leading space'), b('é'), b('e\u0301'), Buffer.alloc(255, 0x61), b('\\x41')];
    for (const n of names) fs.writeFileSync(Buffer.concat([b(latest + '/'), n]), n);
    fs.symlinkSync(b([0xc3, 0x28]), Buffer.concat([b(latest + '/'), b('link-to-invalid')]));
    const r = await take(root);
    expect(diffTrees(readTree(latest), readTree(r.path))).toEqual([]);
    expect(fs.readdirSync(r.path, { encoding: 'buffer' }).length).toBe(names.length + 1);
    expect(listSnapshots(root)[0]!.files).toBe(names.length);
  });

  it('handles paths close to PATH_MAX', async () => {
    const { root, latest } = newRoot();
    // Build a path of ~3,800 bytes below .latest from 200-byte folder names.
    let p = latest;
    const seg = 'd'.repeat(200);
    while (p.length + seg.length + 40 < 3800 + latest.length - 40 && p.length < 3700) {
      p = path.join(p, seg);
    }
    fs.mkdirSync(p, { recursive: true });
    fs.writeFileSync(path.join(p, 'deep.txt'), 'at the bottom');
    expect(p.length).toBeGreaterThan(3500);
    const r = await take(root);
    expect(diffTrees(readTree(latest), readTree(r.path))).toEqual([]);
  });
});

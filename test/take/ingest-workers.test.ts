/**
 * The ingest workers race each other on purpose-built trees: many folders full of identical new
 * files, so both workers publish the same object (into a fan-out folder that does not exist
 * yet) at the same time. Every path must end up on the one shared inode.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { newRoot } from '../helpers/tmp.js';
import { diffTrees, readTree } from '../helpers/tree.js';

describe('ingest workers', () => {
  it('publish one object once when both race on identical new files', async () => {
    for (let round = 0; round < 4; round++) {
      const { root, latest } = newRoot();
      const t = new Date('2024-02-02T02:02:02Z');
      for (let d = 0; d < 30; d++) {
        fs.mkdirSync(path.join(latest, `d${d}`));
        for (let f = 0; f < 12; f++) {
          const p = path.join(latest, `d${d}`, `f${f}`);
          fs.writeFileSync(p, `same content, round ${round}`);
          fs.utimesSync(p, t, t);
        }
      }
      const r = await take(root);
      expect(r.newObjects).toBe(1);
      expect(diffTrees(readTree(latest), readTree(r.path))).toEqual([]);
      const inodes = new Set<number>();
      for (let d = 0; d < 30; d++) for (let f = 0; f < 12; f++) inodes.add(fs.statSync(path.join(r.path, `d${d}`, `f${f}`)).ino);
      expect(inodes.size).toBe(1);
    }
  });
});

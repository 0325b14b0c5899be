/**
 * For random mutation sequences: every snapshot still in the catalog equals the source as it was
 * when it was taken; files with identical (content, metadata) share one inode everywhere; and
 * rotation keeps exactly the newest N (and the newest snapshot with files while newer ones are
 * empty); a take the shrink guard refuses (test/helpers/shrink-reference.ts) changes nothing.
 * Takes use several racy windows, so folders whose
 * quick-check records are complete, partial or empty are all reused or rebuilt
 * (src/model/quick-check.ts). LINKSNAP_PROPERTY_RUNS raises the run count.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { listSnapshots } from '../../src/ops/browse/list.js';
import { verify } from '../../src/ops/verify/verify.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';
import { diffTrees, readTree, type TreeInfo } from '../helpers/tree.js';
import { applyMutation, mutationArb } from '../helpers/mutate.js';
import { referenceRefuses, treeTotals } from '../helpers/shrink-reference.js';

const RUNS = Number(process.env.LINKSNAP_PROPERTY_RUNS ?? 25);

const stepArb = fc.oneof(
  { weight: 3, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 6 }).map((ms) => ({ kind: 'mutate' as const, ms })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('take' as const),
      keep: fc.integer({ min: 1, max: 4 }),
      checksum: fc.boolean(),
      allowShrink: fc.boolean(),
      // 0: every file's record is trusted; 2000: nothing just written is (folders are then
      // rebuilt every time); a few ms: some entries of a folder are trusted and some not.
      racyWindowMs: fc.constantFrom(0, 0, 2, 15, 2000),
    }),
  },
);

describe('take: model-checked history', () => {
  it('every live snapshot equals the source at its take; equal inodes for equal (content, metadata)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 10 }), async (steps) => {
        const { root, latest } = newRoot();
        const now = steppingClock();
        const expected = new Map<string, TreeInfo>();
        let model: string[] = []; // the snapshots that should be live, oldest first
        try {
          for (const step of steps) {
            if (step.kind === 'mutate') {
              for (const m of step.ms) applyMutation(latest, m);
              continue;
            }
            const source = readTree(latest);
            const opts = { now, keep: step.keep, checksum: step.checksum, racyWindowMs: step.racyWindowMs, allowShrink: step.allowShrink };
            const last = model.at(-1);
            if (!step.allowShrink && referenceRefuses(last === undefined ? undefined : treeTotals(expected.get(last)!), treeTotals(source))) {
              await expect(take(root, opts)).rejects.toMatchObject({ code: 'SOURCE_SHRANK' });
            } else {
              const r = await take(root, opts);
              expected.set(r.snapshot, source);
              // Rotation keeps exactly the newest `keep`, and the newest snapshot with files.
              const all = [...model, r.snapshot];
              const kept = all.slice(-step.keep);
              const withFiles = all.filter((n) => treeTotals(expected.get(n)!).files > 0).at(-1);
              model = withFiles !== undefined && !kept.includes(withFiles) ? [withFiles, ...kept] : kept;
            }
            const live = listSnapshots(root).map((s) => s.name);
            expect(live).toEqual(model);
            const inodes = new Map<string, bigint>();
            for (const name of live) {
              const actual = readTree(path.join(root, name));
              expect(diffTrees(expected.get(name)!, actual)).toEqual([]);
              for (const info of actual.values()) {
                if (info.kind !== 'file') continue;
                const key = `${info.sha}|${info.mode}|${info.uid}|${info.gid}|${info.mtimeUs}`;
                const ino = inodes.get(key);
                if (ino === undefined) inodes.set(key, info.ino);
                else expect(info.ino).toBe(ino);
              }
            }
            // The catalog agrees with the folders (a reused tree that is not what was linked
            // would show here, not in the folders).
            const v = await verify(root, { quick: true });
            expect(v.findings.filter((f) => f.severity === 'damage')).toEqual([]);
            // Nothing rotated away is left on disk.
            const dated = fs.readdirSync(root).filter((n) => /^\d{4}-/.test(n));
            expect(dated.sort()).toEqual([...live].sort());
          }
        } finally {
          fs.rmSync(root, { recursive: true, force: true });
        }
      }),
      { numRuns: RUNS },
    );
  }, 300_000);
});

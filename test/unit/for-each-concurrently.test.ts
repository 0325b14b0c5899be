import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { forEachConcurrently } from '../../src/util/limit.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('forEachConcurrently', () => {
  it('runs every item once, never more than `concurrency` at a time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 3 }), { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), async (delays, concurrency) => {
        let running = 0;
        let peak = 0;
        const seen: number[] = [];
        await forEachConcurrently(
          delays.map((d, i) => ({ d, i })),
          concurrency,
          async ({ d, i }) => {
            running++;
            peak = Math.max(peak, running);
            for (let k = 0; k < d; k++) await tick();
            seen.push(i);
            running--;
          },
        );
        expect(seen.sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
        expect(peak).toBeLessThanOrEqual(concurrency);
        // With enough slow items the bound is reached, not just respected.
        if (delays.length >= concurrency && delays.every((d) => d > 0)) expect(peak).toBe(concurrency);
      }),
      { numRuns: 60 },
    );
  });

  it('after a failure starts nothing new, waits for the running ones, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const items = Array.from({ length: 100 }, (_, i) => i);
    const run = forEachConcurrently(items, 4, async (i) => {
      started.push(i);
      await tick();
      if (i === 2) throw new Error('blob 2 failed');
      if (i === 3) throw new Error('blob 3 failed too');
      await tick();
      finished.push(i);
    });
    await expect(run).rejects.toThrow('blob 2 failed');
    expect(started).toEqual([0, 1, 2, 3]);
    expect(finished.sort()).toEqual([0, 1]); // the running ones were awaited before the throw
  });
});

import { describe, expect, it } from 'vitest';
import { formatProgressLine } from '../../src/cli/progress.js';

describe('progress line', () => {
  it('shows files, bytes, rate and an ETA from the byte rate', () => {
    const line = formatProgressLine('take', { doneBytes: 50 * 1024 * 1024, totalBytes: 150 * 1024 * 1024, doneItems: 10, totalItems: 40 }, 10);
    expect(line).toBe('take: 33% 10/40 files, 50.0 MiB/150 MiB, 5.0 MiB/s ETA 20s');
  });
  it('without totals: counts and rate only', () => {
    expect(formatProgressLine('gc', { doneBytes: 2048, doneItems: 3 }, 2, 'objects')).toBe('gc: 3 objects, 2.0 KiB, 1.0 KiB/s');
  });
});

/**
 * A folder's quick-check record (and the tree digest it remembers) must not be reused when one
 * of its files was deleted: the fixed example the random property test only finds sometimes.
 * Two files, a take, one file deleted, a take: the second snapshot lacks the file, verifies
 * clean, and `snap log` of the deleted path ends in "disappeared".
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { runCli } from '../helpers/cli.js';
import { newRoot, steppingClock } from '../helpers/tmp.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };
process.env.LINKSNAP_NO_SYNC = '1';

describe('a file deleted from a folder whose records are all trusted', () => {
  it('is gone from the next snapshot, which verifies clean, and its log ends in "disappeared"', async () => {
    const { root, latest } = newRoot();
    fs.mkdirSync(path.join(latest, 'docs'));
    fs.writeFileSync(path.join(latest, 'docs/keep.txt'), 'stays');
    fs.writeFileSync(path.join(latest, 'docs/gone.txt'), 'will be deleted');
    const now = steppingClock();
    // No racy window: every entry gets a record, so the folder's tree could be reused from it.
    const first = await take(root, { now, racyWindowMs: 0 });
    fs.rmSync(path.join(latest, 'docs/gone.txt'));
    const second = await take(root, { now, racyWindowMs: 0, allowShrink: true });
    expect(second.hashedFiles).toBe(0); // keep.txt came from its record: the records were used
    expect(fs.readdirSync(path.join(second.path, 'docs'))).toEqual(['keep.txt']);

    const v = runCli(['verify', root, '--quick', '--json'], { env: ENV });
    expect(v.code, v.stdout).toBe(0);
    expect(JSON.parse(v.stdout).findings.filter((f: { severity: string }) => f.severity === 'damage')).toEqual([]);

    const log = runCli(['log', root, 'docs/gone.txt'], { env: ENV });
    expect(log.code, log.stderr).toBe(0);
    const lines = log.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${first.snapshot}  appeared +file`));
    expect(lines[1]).toMatch(new RegExp(`^${second.snapshot}  disappeared +file$`));
  });
});

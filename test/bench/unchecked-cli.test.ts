// The bench measures take's object check by patching it out of a copy of dist/. When the check's
// code changes, the patch must still find it, or the bench silently stops measuring it.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
// @ts-expect-error: a plain .mjs of the bench, without types
import { uncheckedCli } from '../../bench/unchecked-cli.mjs';

describe('bench: the CLI without the object check', () => {
  it('finds the check in dist/ and removes the lstat and the test, nothing else', () => {
    const work = tempDir();
    const main = uncheckedCli(work) as string | undefined;
    expect(main, 'the patch no longer matches dist/store/source-scan.js: update bench/unchecked-cli.mjs').toBeDefined();
    const patched = fs.readFileSync(path.join(path.dirname(main!), '../store/source-scan.js'), 'utf8');
    const original = fs.readFileSync(path.join(__dirname, '../../dist/store/source-scan.js'), 'utf8');
    expect(original).toMatch(/objectInodeHolds\(st, key/);
    expect(patched).not.toMatch(/objectInodeHolds\(st, key/);
    expect(patched).toMatch(/if \(false\) \{\s*fs\.unlinkSync\(fdPath\(folders\.stage, name\)\);\s*return 'DAMAGED';/);
    expect(patched.split('\n').length).toBe(original.split('\n').length - 3);
    // The copy finds the native helper where the real CLI does, so only the check differs.
    const addon = 'native/build/Release/linksnap_fsat.node';
    expect(fs.existsSync(path.join(work, addon))).toBe(fs.existsSync(path.join(__dirname, '../..', addon)));
  });
});

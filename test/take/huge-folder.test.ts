/**
 * The regression behind "one folder of any size": a single folder of 120,000 entries (a maildir,
 * a camera dump) once failed every take with ERR_WORKER_OUT_OF_MEMORY. It runs on tmpfs
 * (/dev/shm) where there is one, so that making 120,000 files stays cheap.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
const root = fs.mkdtempSync(path.join(base, 'linksnap-huge-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('a folder of 120,000 entries', () => {
  it('is taken, twice, within the workers’ heap', () => {
    const dir = path.join(root, '.latest', 'maildir');
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 120_000; i++) fs.writeFileSync(path.join(dir, `m${i}`), i % 100 === 0 ? `${i}` : '');
    const env = { LINKSNAP_NO_SYNC: '1' };
    const first = runCli(['take', root, '--json'], { env, timeoutMs: 300_000 });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).files).toBe(120_000);
    expect(fs.readdirSync(JSON.parse(first.stdout).path + '/maildir').length).toBe(120_000);
    const second = runCli(['take', root, '--json'], { env, timeoutMs: 300_000 });
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).files).toBe(120_000);
  }, 600_000);
});

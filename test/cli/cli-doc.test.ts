import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('docs/cli.md', () => {
  it('matches the CLI’s --help output (regenerate with node scripts/gen-cli-doc.mjs)', () => {
    const r = spawnSync(process.execPath, [path.join(repo, 'scripts/gen-cli-doc.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 180_000); // one CLI process per command: slow on a loaded machine
});

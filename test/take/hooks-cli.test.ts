/**
 * A take's hooks through the real CLI (docs/operations.md, "Hooks"): hooks.pre runs under the
 * lock before .latest is looked at (it can create and fill it); a failing or timed-out pre takes
 * nothing (exit 7) and runs hooks.failure with LINKSNAP_EXIT and LINKSNAP_ERROR; hooks.post runs
 * after the snapshot is published with LINKSNAP_SNAPSHOT, and its failure is a warning (exit 3);
 * hook output goes to stderr; --no-hooks runs none of them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';

const env = { LINKSNAP_NO_SYNC: '1' };
const snap = (...args: string[]) => runCli(args, { env });
const listed = (root: string): string[] => (JSON.parse(snap('list', root, '--json').stdout) as { name: string }[]).map((s) => s.name);
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function config(root: string, ...pairs: string[]): void {
  const r = snap('config', root, ...pairs);
  expect(r.code, r.stderr).toBe(0);
}

describe('take hooks (CLI)', () => {
  it('pre fills a missing .latest from elsewhere; post gets the published snapshot; hook output goes to stderr', () => {
    const { root, latest } = newRoot();
    const remote = tempDir();
    fs.writeFileSync(path.join(remote, 'db.dump'), 'rows');
    const out = tempDir();
    // The store exists (settings saved), then .latest goes away: only the pre hook brings it back.
    config(root, `hooks.pre=echo pre-says-hi; mkdir -p "$LINKSNAP_ROOT/.latest" && cp -a ${q(remote)}/. "$LINKSNAP_ROOT/.latest/"`);
    config(root, `hooks.post=ls "$LINKSNAP_SNAPSHOT" > ${q(path.join(out, 'post'))}; echo "$LINKSNAP_SNAPSHOT" > ${q(path.join(out, 'snapshot'))}`);
    fs.rmdirSync(latest);

    const r = snap('take', root);
    expect(r.code, r.stderr).toBe(0);
    const made = r.stdout.trim();
    expect(r.stdout).toBe(made + '\n'); // the hook's echo went to stderr, not stdout
    expect(r.stderr).toMatch(/pre-says-hi/);
    expect(fs.readFileSync(path.join(made, 'db.dump'), 'utf8')).toBe('rows');
    expect(fs.readFileSync(path.join(out, 'snapshot'), 'utf8').trim()).toBe(made);
    expect(fs.readFileSync(path.join(out, 'post'), 'utf8').trim()).toBe('db.dump'); // published when post ran
  });

  it('a failing pre takes nothing, exits 7 naming the hook and its status, and runs failure with LINKSNAP_EXIT and LINKSNAP_ERROR', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const out = tempDir();
    expect(snap('take', root).code).toBe(0);
    const before = listed(root);
    expect(before).toHaveLength(1);
    config(root, 'hooks.pre=echo rsync failed >&2; exit 3', `hooks.failure=printf '%s|%s' "$LINKSNAP_EXIT" "$LINKSNAP_ERROR" > ${q(path.join(out, 'failure'))}`);
    fs.writeFileSync(path.join(latest, 'g'), 'y');

    const r = snap('take', root, '--json');
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/rsync failed/);
    expect(r.stderr).toMatch(/^snap: hooks\.pre exited with status 3; nothing was taken$/m);
    expect(listed(root)).toEqual(before);
    expect(fs.readFileSync(path.join(out, 'failure'), 'utf8')).toBe('7|hooks.pre exited with status 3; nothing was taken');
  });

  it('--no-hooks runs neither pre nor failure', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const out = tempDir();
    config(root, 'hooks.pre=exit 3', `hooks.failure=touch ${q(path.join(out, 'failure'))}`);
    const once = snap('take', root, '--no-hooks');
    expect(once.code, once.stderr).toBe(0);
    expect(listed(root)).toHaveLength(1);
    expect(fs.existsSync(path.join(out, 'failure'))).toBe(false);
  });

  it('a take failing on its own (missing .latest) runs failure with the exit code the CLI ends with', () => {
    const { root, latest } = newRoot();
    const out = tempDir();
    config(root, `hooks.failure=printf '%s|%s' "$LINKSNAP_EXIT" "$LINKSNAP_ERROR" > ${q(path.join(out, 'failure'))}`);
    fs.rmdirSync(latest);
    const r = snap('take', root);
    expect(r.code).toBe(2);
    expect(fs.readFileSync(path.join(out, 'failure'), 'utf8')).toBe(`2|${latest} does not exist`);
  });

  it('hooks.timeout kills a hook that runs too long, with what it started', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const out = tempDir();
    const marker = path.join(out, 'survived');
    // The shell starts a child that would write the marker if it outlived the kill.
    config(root, `hooks.pre=(sleep 3; touch ${q(marker)}) & sleep 600`, 'hooks.timeout=1s');
    const r = snap('take', root);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/^snap: hooks\.pre timed out after 1s and was killed; nothing was taken$/m);
    expect(listed(root)).toEqual([]);
    spawnSync('sleep', ['4']); // past the child's 3 s: had it survived the kill, the marker would be there
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a failing post leaves the snapshot and makes the take complete with a warning (exit 3)', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    config(root, 'hooks.post=exit 5');
    const r = snap('take', root, '--json');
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout);
    expect(j.hooks).toEqual([expect.objectContaining({ hook: 'post', status: 5, ok: false, message: 'hooks.post exited with status 5' })]);
    expect(listed(root)).toEqual([j.snapshot]);
    expect(r.stderr).toMatch(/warning: hooks\.post exited with status 5 \(the snapshot .* is complete\)/);
  });

  it('refuses a timeout that is not a duration', () => {
    const { root } = newRoot();
    const r = snap('config', root, 'hooks.timeout=0');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hooks\.timeout must be a duration longer than zero/);
  });
});

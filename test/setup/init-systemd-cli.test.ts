/**
 * `snap init --systemd [--write]` through the real CLI: a oneshot .service at idle I/O and low
 * CPU priority running the same take as the cron line, and a Persistent .timer; --write installs
 * them (refusing to replace existing files without --force) and prints the systemctl line. The
 * units pass `systemd-analyze verify` where it is installed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('snap init --systemd (CLI)', () => {
  it('prints a service and timer pair; --write installs them, refusing to overwrite without --force', () => {
    const base = tempDir();
    const data = path.join(base, 'data');
    fs.mkdirSync(data);
    const root = path.join(base, 'backups/my music');
    const units = tempDir();

    const shown = runCli(['init', root, '--source', data, '--systemd']);
    expect(shown.code, shown.stderr).toBe(0);
    // systemd-escape --path: '/' becomes '-', a '-' or a space \xNN.
    const name = `linksnap-${base.slice(1).replace(/-/g, '\\x2d').replace(/\//g, '-')}-backups-my\\x20music`;
    expect(shown.stdout).toContain(`# ${name}.service\n`);
    expect(shown.stdout).toContain(`# ${name}.timer\n`);
    expect(shown.stdout).toMatch(/\nType=oneshot\n/);
    expect(shown.stdout).toMatch(/\nExecStart=\S+node\S* \S+main\.js take "[^"]+\/backups\/my music" --quiet\n/);
    expect(shown.stdout).toMatch(/\nNice=19\nIOSchedulingClass=idle\n/);
    expect(shown.stdout).toMatch(/\nOnCalendar=daily\nPersistent=true\nRandomizedDelaySec=\S+\n/);
    expect(shown.stdout).toMatch(/\nWantedBy=timers\.target\n/);

    const w = runCli(['init', root, '--systemd', '--write', '--unit-dir', units, '--on-calendar', '*-*-* 03:00:00']);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toBe(`systemctl daemon-reload && systemctl enable --now ${name}.timer\n`);
    const service = fs.readFileSync(path.join(units, `${name}.service`), 'utf8');
    const timer = fs.readFileSync(path.join(units, `${name}.timer`), 'utf8');
    expect(timer).toMatch(/\nOnCalendar=\*-\*-\* 03:00:00\n/);
    expect(fs.statSync(path.join(units, `${name}.timer`)).mode & 0o777).toBe(0o644);

    // The ExecStart line runs the take as written (systemd unquotes it like a shell would here).
    const exec = /\nExecStart=(\S+) (\S+) take "([^"]+)" --quiet\n/.exec(service)!;
    const run = spawnSync(exec[1]!, [exec[2]!, 'take', exec[3]!, '--quiet'], { encoding: 'utf8', env: { ...process.env, LINKSNAP_NO_SYNC: '1' } });
    expect(run.status, run.stderr).toBe(0);

    const again = runCli(['init', root, '--systemd', '--write', '--unit-dir', units]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists\n  .*--write --force/);
    expect(fs.readFileSync(path.join(units, `${name}.timer`), 'utf8')).toBe(timer);
    const forced = runCli(['init', root, '--systemd', '--write', '--force', '--unit-dir', units]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(fs.readFileSync(path.join(units, `${name}.timer`), 'utf8')).toMatch(/\nOnCalendar=daily\n/);
    expect(runCli(['init', root, '--write']).code).toBe(2); // --write without --systemd

    if (!hasAnalyze) {
      console.log('systemd-analyze is not installed: the units were not checked with `systemd-analyze verify`');
      return;
    }
    const v = spawnSync('systemd-analyze', ['verify', path.join(units, `${name}.service`), path.join(units, `${name}.timer`)], { encoding: 'utf8' });
    expect(v.status, v.stdout + v.stderr).toBe(0);
  });
});

/**
 * `snap init --systemd`: a `.service` and `.timer` pair for the nightly take, the alternative to
 * the cron line. The service is a oneshot run at the lowest CPU and I/O priority; the timer is
 * `Persistent=true`, so a night missed while the machine was off runs at the next boot, with a
 * random delay so that many machines do not start at the same second (docs/operations.md).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SnapError, errnoCode } from '../../errors.js';

export const DEFAULT_UNIT_DIR = '/etc/systemd/system';

export interface SystemdOptions {
  /** When the timer fires (systemd.time(7)); default `daily`. */
  onCalendar?: string;
}

export interface UnitFile {
  name: string;
  text: string;
}

export interface SystemdUnits {
  service: UnitFile;
  timer: UnitFile;
  /** What to run once the files are in place. */
  enable: string;
}

/** `systemd-escape --path`: /backups/music → backups-music; other bytes as \xNN. */
export function escapeUnitPath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, '').replace(/\/+/g, '/');
  if (trimmed === '') return '-';
  return [...Buffer.from(trimmed)]
    .map((b, i) => {
      const c = String.fromCharCode(b);
      if (c === '/') return '-';
      if (/[A-Za-z0-9:_.]/.test(c) && !(i === 0 && c === '.')) return c;
      return `\\x${b.toString(16).padStart(2, '0')}`;
    })
    .join('');
}

/** One word of an Exec line: quoted when needed; `%` and `$` doubled so systemd keeps them. */
function execWord(s: string): string {
  const quoted = /^[\w@+=:,./-]+$/.test(s) ? s : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return quoted.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

export function systemdUnits(root: string, cliScript: string, opts: SystemdOptions = {}): SystemdUnits {
  const onCalendar = opts.onCalendar ?? 'daily';
  if (!onCalendar.trim() || /[\n\r]/.test(onCalendar)) {
    throw new SnapError('USAGE', `--on-calendar must be one systemd calendar expression, got '${onCalendar}'`, { hint: 'e.g. daily, hourly, *-*-* 03:00:00 (systemd.time(7))' });
  }
  const base = `linksnap-${escapeUnitPath(root)}`;
  // Run as the user who owns the store: root refuses a store someone else owns, and a user's take
  // must not write root-owned files into their store.
  const uid = process.geteuid?.() ?? 0;
  const user = uid === 0 ? [] : [`User=${os.userInfo().username}`];
  const comment = (what: string) => `# ${what} ${root}, written by \`snap init --systemd\` (docs/operations.md).`;
  const service = [
    comment('The take of'),
    '[Unit]',
    `Description=linksnap: snapshot ${root.replace(/%/g, '%%')}`,
    // A hooks.pre that pulls from another host needs the network.
    'Wants=network-online.target',
    'After=network-online.target local-fs.target',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${[process.execPath, cliScript, 'take', root, '--quiet'].map(execWord).join(' ')}`,
    ...user,
    'Nice=19',
    'IOSchedulingClass=idle',
    'CPUSchedulingPolicy=batch',
    '',
  ].join('\n');
  const timer = [
    comment('The timer of the take of'),
    '[Unit]',
    `Description=linksnap: scheduled snapshot of ${root.replace(/%/g, '%%')}`,
    '',
    '[Timer]',
    `OnCalendar=${onCalendar}`,
    'Persistent=true',
    'RandomizedDelaySec=15min',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return {
    service: { name: `${base}.service`, text: service },
    timer: { name: `${base}.timer`, text: timer },
    enable: `systemctl daemon-reload && systemctl enable --now ${base}.timer`,
  };
}

/**
 * Install the two files into `dir`. An existing file is replaced only with `force`; each is
 * written beside its name and renamed into place, so a reader never sees half a unit.
 */
export function writeSystemdUnits(units: SystemdUnits, dir: string, force: boolean): string[] {
  const files = [units.service, units.timer].map((u) => ({ ...u, path: path.join(dir, u.name) }));
  if (!force) {
    for (const f of files) {
      if (fs.existsSync(f.path)) throw new SnapError('EXISTS', `${f.path} already exists`, { hint: 'compare it with `snap init <root> --systemd`; to replace it: --write --force' });
    }
  }
  for (const f of files) {
    const tmp = path.join(dir, `.${f.name}.${randomBytes(4).toString('hex')}`);
    try {
      fs.writeFileSync(tmp, f.text, { mode: 0o644, flag: 'wx' });
      fs.renameSync(tmp, f.path);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      const code = errnoCode(e);
      if (code === 'EACCES' || code === 'EPERM') {
        throw new SnapError('IO', `cannot write ${f.path}: permission denied`, { hint: 'run it as root (sudo), or print the units without --write and install them yourself', cause: e });
      }
      if (code === 'ENOENT') throw new SnapError('USAGE', `the folder ${dir} does not exist`, { hint: 'is systemd installed? otherwise use the cron line (snap init without --systemd)', cause: e });
      throw e;
    }
  }
  return files.map((f) => f.path);
}

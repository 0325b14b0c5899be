// Running the tools under test: timing, peak RSS, the `sync` before every timed command, and a
// one-line message when a tool is missing.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = path.join(repo, 'dist/cli/main.js');
export const SEED = path.join(repo, 'bench/seed-rotate.sh');
/** Whether the native helper (native/, src/util/fsat.ts) is built: then its fs fallback is timed too. */
export const hasNative = fs.existsSync(path.join(repo, 'native/build/Release/linksnap_fsat.node'));

export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** A required tool: stop with one line saying how to get it. */
export function need(cmd, pkg) {
  if (!has(cmd)) {
    console.error(`bench: needs ${cmd} (apt-get install -y ${pkg})`);
    process.exit(2);
  }
}

export const hasGnuTime = fs.existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;

let syncTarget;
/** The file system `run` flushes before each timed command (`sync -f`: only that one). */
export const syncBefore = (dir) => (syncTarget = dir);

/**
 * Run a command; returns its wall time in seconds and peak RSS (KiB, via GNU time when present).
 * Every timed command starts after a sync of the work folder's file system, so none pays for
 * another's write-back; `sync: false` only where the point is to time a command beside
 * unwritten data.
 */
export function run(cmd, args, opts = {}) {
  if (opts.sync !== false) spawnSync('sync', syncTarget ? ['-f', syncTarget] : []);
  const full = hasGnuTime ? ['/usr/bin/time', ['-f', '__RSS__%M', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /__RSS__(\d+)/.exec(r.stderr ?? '');
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !(opts.okCodes ?? []).includes(r.status)) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr ?? '').replace(/__RSS__\d+\s*$/, '').trim().slice(-800)}`);
  }
  return { seconds, rssKiB: m ? Number(m[1]) : undefined, stdout: r.stdout, status: r.status };
}

export const snap = (args, opts) => run(process.execPath, [CLI, ...args], opts);
/** The seed script; 23 and 24 are rsync's partial transfers (dangling symlinks under -L, vanished files). */
export const seed = (root) => run(SEED, [root], { okCodes: [23, 24] });
export const restic = (repoDir, args, opts = {}) =>
  run('restic', ['--repo', repoDir, '--quiet', ...args], { ...opts, env: { RESTIC_PASSWORD: 'bench', RESTIC_CACHE_DIR: path.join(repoDir, '..', 'restic-cache'), ...opts.env } });

export const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
export const rm = (p) => fs.rmSync(p, { recursive: true, force: true });
export const du = (p) => Number(spawnSync('du', ['-s', '--block-size=1', p], { encoding: 'utf8' }).stdout.split('\t')[0]);

/** Dirty page-cache data, system-wide (KiB): how much unwritten data a command starts beside. */
export function dirtyKiB() {
  const m = /^Dirty:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) : undefined;
}

export const TMPFS_MAGIC = 0x01021994;

/** Free bytes for a writer in the file system holding dir; on a tmpfs, no more than the free RAM. */
export function freeBytes(dir) {
  const s = fs.statfsSync(dir);
  const free = s.bavail * s.bsize;
  if (s.type !== TMPFS_MAGIC) return free;
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Math.min(free, Number(m[1]) * 1024) : free;
}

export const loadAverage = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(', ');

/** What `--help` of the CLI lists, to skip commands this build does not have. */
let helpText;
export function hasCommand(name) {
  helpText ??= spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout;
  return new RegExp(`^\\s+${name}\\b`, 'm').test(helpText);
}

/**
 * The folder check walks every snapshot together, reading each distinct tree once and merging
 * the catalog's entries with each folder's sorted listing (a page at a time for big folders).
 * These tests damage single snapshots inside trees all snapshots share, in folders big enough to
 * take the streamed listing and several catalog pages, and check that each finding names exactly
 * the damaged snapshot and path; and, on the real system calls, that a snapshot file is compared
 * with its object without an lstat of the object file per path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { take } from '../../src/ops/take/take.js';
import { CLI, runCli } from '../helpers/cli.js';
import { newRoot, steppingClock, tempDir } from '../helpers/tmp.js';

process.env.LINKSNAP_NO_SYNC = '1';

interface Report {
  findings: { kind: string; severity: string; snapshots: string[]; paths: string[] }[];
  counts: { entries: number; objects: number };
}

/** Three snapshots of one tree: `big/` holds `files` files (unchanged), `top.txt` changes each time. */
async function sharedRoot(files: number): Promise<{ root: string; latest: string; snaps: string[] }> {
  const { root, latest } = newRoot();
  const now = steppingClock();
  fs.mkdirSync(path.join(latest, 'big/sub'), { recursive: true });
  for (let i = 0; i < files; i++) fs.writeFileSync(path.join(latest, 'big', `f${String(i).padStart(5, '0')}`), `file ${i}\n`);
  fs.writeFileSync(path.join(latest, 'big/sub/inner.txt'), 'inner\n');
  const past = new Date('2024-01-01T00:00:00Z');
  for (const p of fs.readdirSync(path.join(latest, 'big'))) fs.utimesSync(path.join(latest, 'big', p), past, past);
  fs.utimesSync(path.join(latest, 'big'), past, past);
  const snaps: string[] = [];
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(path.join(latest, 'top.txt'), `version ${i}\n`);
    fs.utimesSync(path.join(latest, 'top.txt'), past, past);
    snaps.push((await take(root, { now, racyWindowMs: 0 })).snapshot);
  }
  return { root, latest, snaps };
}

function verifyJson(root: string, args: string[] = [], env: Record<string, string> = {}): { code: number; report: Report } {
  const r = runCli(['verify', root, '--json', ...args], { env: { LINKSNAP_NO_SYNC: '1', ...env }, timeoutMs: 120_000 });
  expect(r.stderr).toBe('');
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

/** Keep a folder's mtime across a change inside it (so only the change itself is reported). */
function keepingMtime(dir: string, change: () => void): void {
  const st = fs.statSync(dir);
  change();
  fs.utimesSync(dir, st.atime, st.mtime);
}

describe('verify walks the snapshots together', () => {
  for (const [label, env] of [
    ['listings read whole', {}],
    ['listings streamed and packed (small chunks)', { LINKSNAP_TEST_SCAN_CHUNK: '7' }],
  ] as const) {
    it(`names only the damaged snapshot in a folder all snapshots share (${label})`, async () => {
      const { root, snaps } = await sharedRoot(1100); // two catalog pages
      const [s0, s1, s2] = snaps as [string, string, string];
      const clean = verifyJson(root, ['--quick'], env);
      expect(clean.code).toBe(0);
      expect(clean.report.counts.entries).toBe(3 * (1100 + 4));

      const big = (s: string) => path.join(root, s, 'big');
      keepingMtime(big(s0), () => fs.writeFileSync(path.join(big(s0), 'f00500x'), 'added')); // between two catalog pages' names
      keepingMtime(big(s0), () => fs.writeFileSync(path.join(big(s0), 'zz-last'), 'added'));
      keepingMtime(big(s1), () => fs.rmSync(path.join(big(s1), 'f01099'))); // on the second page
      keepingMtime(big(s1), () => fs.rmSync(path.join(big(s1), 'f00000')));
      keepingMtime(big(s2), () => {
        const p = path.join(big(s2), 'f01050');
        const st = fs.statSync(p);
        fs.copyFileSync(p, p + '.new');
        fs.renameSync(p + '.new', p);
        fs.utimesSync(p, st.atime, st.mtime);
      });
      fs.chmodSync(path.join(big(s2), 'sub'), 0o700);

      const { code, report } = verifyJson(root, ['--quick'], env);
      expect(code).toBe(1);
      const got = report.findings.map((f) => `${f.kind} ${f.snapshots.join(',')} ${f.paths.join(',')}`);
      expect(got).toEqual([
        `entry-extra ${s0} ${s0}/big/f00500x`,
        `entry-extra ${s0} ${s0}/big/zz-last`,
        `entry-missing ${s1} ${s1}/big/f00000`,
        `entry-missing ${s1} ${s1}/big/f01099`,
        `entry-replaced ${s2} ${s2}/big/f01050`,
        `entry-metadata ${s2} ${s2}/big/sub`,
      ]);
    }, 300_000);
  }

  it('maps a damaged object to its path in every snapshot, also when verifying one (streamed listings)', async () => {
    const { root, snaps } = await sharedRoot(40);
    const p = path.join(root, snaps[1]!, 'big/f00033');
    fs.chmodSync(p, 0o600); // through the link: the object's inode, shared by every snapshot
    const { code, report } = verifyJson(root, ['--quick', snaps[2]!], { LINKSNAP_TEST_SCAN_CHUNK: '7' });
    expect(code).toBe(1);
    const f = report.findings.filter((x) => x.severity === 'damage');
    expect(f).toHaveLength(1);
    expect(f[0]!.kind).toBe('object-metadata');
    expect(f[0]!.snapshots).toEqual(snaps);
    expect(f[0]!.paths).toEqual(snaps.map((s) => `${s}/big/f00033`));
  }, 300_000);
});

const strace = spawnSync('sh', ['-c', 'command -v strace']).status === 0;
if (!strace) console.warn('shared-walk: strace is not installed; skipping the system-call test (apt-get install strace)');

/**
 * The full path each stat call of an `strace -f -y` log looked at: a path, a name relative to a
 * descriptor strace decoded (`12</a/b>`), or a /proc/self/fd/<fd>/ path resolved through the
 * path the descriptor was opened with.
 */
function statedPaths(log: string): string[] {
  const fds = new Map<string, string>();
  const out: string[] = [];
  for (const line of log.split('\n')) {
    const call = /^(?:\d+\s+)?(\w+)\((?:(\d+)<([^>]*)>|AT_FDCWD(?:<[^>]*>)?|)(?:,\s*)?"([^"]*)"/.exec(line);
    if (!call) continue;
    const [, name, , dir, arg] = call;
    if (name === 'openat') {
      const opened = /= (\d+)<([^>]*)>$/.exec(line);
      if (opened) fds.set(opened[1]!, opened[2]!);
      continue;
    }
    const viaProc = /^\/proc\/self\/fd\/(\d+)\/(.*)$/.exec(arg!);
    if (dir !== undefined) out.push(`${dir}/${arg}`);
    else if (viaProc && fds.has(viaProc[1]!)) out.push(`${fds.get(viaProc[1]!)}/${viaProc[2]}`);
    else out.push(arg!);
  }
  return out;
}

describe.skipIf(!strace)('the system calls of verify --quick', () => {
  it('lstats each object file once and each snapshot path once, however many snapshots share them', async () => {
    const { root, snaps } = await sharedRoot(30);
    const log = path.join(tempDir(), 'strace.log');
    // -y prints each descriptor with its path, so an lstat relative to an open folder (the native
    // fstatat, or the fallback's /proc/self/fd/<fd>/<name>) still names the file it looked at.
    const r = spawnSync('strace', ['-f', '-qq', '-y', '-e', 'trace=lstat,newfstatat,statx,stat,openat', '-o', log, process.execPath, CLI, 'verify', root, '--quick'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const paths = statedPaths(fs.readFileSync(log, 'utf8'));
    const count = (pred: (p: string) => boolean) => paths.filter(pred).length;
    const objects = path.join(root, '.snap/objects') + '/';
    const objectFiles = fs.readdirSync(objects).flatMap((d) => fs.readdirSync(path.join(objects, d)));
    expect(objectFiles.length).toBe(30 + 1 + 3); // big/*, sub/inner.txt, three versions of top.txt
    // The object check lstats each object once (the leftovers check lists the folders, no lstat);
    // the folder walk compares each snapshot file with the inode that check saw.
    expect(count((p) => p.startsWith(objects) && p.length > objects.length + 3)).toBe(objectFiles.length);
    for (const s of snaps) {
      const file = path.join(root, s, 'big/f00007');
      expect(count((p) => p === file), file).toBe(1);
    }
  }, 300_000);
});

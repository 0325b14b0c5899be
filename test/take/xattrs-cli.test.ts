/**
 * Extended attributes and ACLs through the real CLI on the real file system: `take --xattrs`
 * records user.*, POSIX ACLs (access and default), file capabilities and trusted.* (as root);
 * verify checks them; materialize and restore carry them; diff reports changes; a file that
 * differs only in an attribute gets its own object; damage through a dated folder is found and
 * repaired. Compared with getfattr/getfacl, the tools a user would check with.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/cli.js';
import { newRoot, tempDir } from '../helpers/tmp.js';
import { isRoot, unmount } from '../helpers/mount.js';

const ENV = { LINKSNAP_NO_SYNC: '1' };
const have = (cmd: string) => spawnSync(cmd, ['--version'], { encoding: 'utf8' }).status === 0;
const TOOLS = have('setfattr') && have('getfattr') && have('setfacl') && have('getfacl');
if (!TOOLS) console.warn('xattrs-cli: setfattr/getfattr/setfacl/getfacl missing (apt-get install attr acl): tests skipped');
const SETCAP = spawnSync('setcap', ['-h'], { encoding: 'utf8' }).error === undefined;
const STRACE = spawnSync('sh', ['-c', 'command -v strace']).status === 0;

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Every attribute of every path under `dir`, by relative path (getfattr's dump), and every ACL (getfacl). */
function attrsOf(dir: string): { xattrs: string; acls: string } {
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' }).stdout;
  return {
    // security.selinux is never recorded (the policy assigns it); everything else must match.
    xattrs: run('getfattr', ['-R', '-d', '-m', '-', '-e', 'hex', '.'])
      .split('\n')
      .filter((l) => !l.startsWith('security.selinux'))
      .join('\n'),
    acls: run('getfacl', ['-R', '-p', '.']),
  };
}

function objectFiles(root: string): string[] {
  const objects = path.join(root, '.snap/objects');
  return fs.readdirSync(objects).flatMap((fan) => fs.readdirSync(path.join(objects, fan)));
}

function snapshots(root: string): string[] {
  return fs.readdirSync(root).filter((n) => /^\d{4}-\d\d-\d\d_/.test(n)).sort();
}

/** A source with attributes of every recorded kind, on files and folders. */
function makeSource(latest: string): void {
  fs.mkdirSync(path.join(latest, 'docs/sub'), { recursive: true });
  fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'same bytes\n');
  fs.writeFileSync(path.join(latest, 'docs/b.txt'), 'same bytes\n'); // differs from a.txt only in attributes
  fs.writeFileSync(path.join(latest, 'docs/sub/acl.txt'), 'acl\n');
  fs.writeFileSync(path.join(latest, 'tool'), '#!/bin/sh\n');
  const t = new Date('2026-01-02T03:04:05Z');
  for (const f of ['docs/a.txt', 'docs/b.txt']) fs.utimesSync(path.join(latest, f), t, t);
  sh('setfattr', ['-n', 'user.color', '-v', 'red', path.join(latest, 'docs/a.txt')]);
  sh('setfattr', ['-n', 'user.color', '-v', 'blue', path.join(latest, 'docs/b.txt')]);
  sh('setfattr', ['-n', 'user.empty', path.join(latest, 'docs/b.txt')]);
  // An ACL whose mask (r--) is narrower than the named entry: the order chmod → ACL matters.
  sh('setfacl', ['-m', 'u:nobody:rw-,g:nogroup:r--,m::r--', path.join(latest, 'docs/sub/acl.txt')]);
  sh('setfattr', ['-n', 'user.folder', '-v', 'docs', path.join(latest, 'docs')]);
  sh('setfacl', ['-d', '-m', 'u:nobody:r-x', path.join(latest, 'docs/sub')]);
  sh('setfacl', ['-m', 'u:nobody:r-x', path.join(latest, 'docs/sub')]);
  sh('setfattr', ['-n', 'user.top', '-v', '1', latest]);
  if (isRoot) sh('setfattr', ['-n', 'trusted.origin', '-v', 'backup-test', path.join(latest, 'docs/a.txt')]);
  if (isRoot && SETCAP) {
    // Owned by someone else: chown clears capabilities, so they must be set after it.
    fs.chownSync(path.join(latest, 'tool'), 1234, 1234);
    fs.chmodSync(path.join(latest, 'tool'), 0o755);
    sh('setcap', ['cap_net_bind_service+ep', path.join(latest, 'tool')]);
  }
}

describe.skipIf(!TOOLS)('take --xattrs (CLI, real file system)', () => {
  it('records attributes and ACLs of files and folders; verify, materialize and restore carry them exactly', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const take = runCli(['take', root, '--xattrs', '--json'], { env: ENV });
    expect(take.code, take.stderr).toBe(0);
    const snap = JSON.parse(take.stdout).snapshot as string;
    const want = attrsOf(latest);
    expect(want.xattrs).toContain('user.color');
    expect(want.acls).toContain('default:user:nobody:r-x');
    if (isRoot) expect(want.xattrs).toContain('trusted.origin');
    if (isRoot && SETCAP) expect(want.xattrs).toContain('security.capability');

    // The dated folder shows them (files through their objects' inodes, folders as set).
    expect(attrsOf(path.join(root, snap))).toEqual(want);

    // Same bytes, mode, owner and mtime, other attributes: two objects, each named with its digest.
    const byContent = new Map<string, string[]>();
    for (const n of objectFiles(root)) byContent.set(n.slice(0, 64), [...(byContent.get(n.slice(0, 64)) ?? []), n]);
    const shared = [...byContent.values()].filter((names) => names.length > 1);
    expect(shared).toHaveLength(1); // a.txt and b.txt
    for (const n of shared[0]!) expect(n).toMatch(/_x[0-9a-f]{64}$/);

    const verify = runCli(['verify', root], { env: ENV });
    expect(verify.code, verify.stdout).toBe(0);
    expect(runCli(['verify', root, '--quick'], { env: ENV }).code).toBe(0);

    const out = tempDir();
    const m = runCli(['materialize', root, snap, '--to', path.join(out, 'm'), '--copy'], { env: ENV });
    expect(m.code, m.stderr).toBe(0);
    expect(attrsOf(path.join(out, 'm'))).toEqual(want);
    const r = runCli(['restore', root, snap, '--to', path.join(out, 'r'), '--json'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).warnings).toEqual([]);
    expect(attrsOf(path.join(out, 'r'))).toEqual(want);

    // Rebuilt in place (repair after the folder is lost): the same again.
    fs.rmSync(path.join(root, snap), { recursive: true });
    expect(runCli(['verify', root, '--repair'], { env: ENV }).code).toBe(0);
    expect(attrsOf(path.join(root, snap))).toEqual(want);
  });

  it('an attribute changed alone is recorded by the next take (re-read, not trusted from the record) and reported by diff', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const first = JSON.parse(runCli(['take', root, '--xattrs', '--json'], { env: ENV }).stdout).snapshot as string;
    // Past the racy window, so the first take's records are trusted by the second.
    const old = new Date(Date.now() - 60_000);
    for (const f of ['docs/a.txt', 'docs/b.txt', 'docs/sub/acl.txt', 'tool']) fs.utimesSync(path.join(latest, f), old, old);
    spawnSync('sleep', ['2.2']);
    const second = runCli(['take', root, '--xattrs', '--json'], { env: ENV });
    expect(second.code, second.stderr).toBe(0);
    const base = JSON.parse(second.stdout).snapshot as string;
    sh('setfattr', ['-n', 'user.color', '-v', 'green', path.join(latest, 'docs/a.txt')]);
    sh('setfattr', ['-x', 'user.folder', path.join(latest, 'docs')]);
    const third = runCli(['take', root, '--xattrs', '--json'], { env: ENV });
    expect(third.code, third.stderr).toBe(0);
    const last = JSON.parse(third.stdout).snapshot as string;
    expect(sh('getfattr', ['--only-values', '-n', 'user.color', path.join(root, last, 'docs/a.txt')])).toBe('green');
    expect(sh('getfattr', ['--only-values', '-n', 'user.color', path.join(root, first, 'docs/a.txt')])).toBe('red');
    expect(spawnSync('getfattr', ['-n', 'user.folder', path.join(root, last, 'docs')]).status).not.toBe(0);

    const diff = runCli(['diff', root, base, last, '--json'], { env: ENV });
    expect(diff.code, diff.stderr).toBe(0);
    const items = JSON.parse(diff.stdout).items as { path: string; status: string; changes?: string[] }[];
    expect(items).toEqual([
      { path: 'docs', status: 'changed', kind: 'dir', changes: ['xattrs'] },
      { path: 'docs/a.txt', status: 'changed', kind: 'file', size: 11, changes: ['xattrs'] },
    ]);
    const text = runCli(['diff', root, base, last], { env: ENV });
    expect(text.stdout).toContain('M  docs/a.txt  (xattrs)');
    // Against .latest: nothing changed since the last take.
    sh('setfattr', ['-n', 'user.color', '-v', 'pink', path.join(latest, 'docs/b.txt')]);
    const live = runCli(['diff', root, last, '--json'], { env: ENV });
    expect(JSON.parse(live.stdout).items).toEqual([{ path: 'docs/b.txt', status: 'changed', kind: 'file', size: 11, changes: ['xattrs'] }]);
  });

  it('verify finds an attribute changed through a dated folder (object and folder) and --repair restores the recorded set', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const snap = JSON.parse(runCli(['take', root, '--xattrs', '--json'], { env: ENV }).stdout).snapshot as string;
    sh('setfattr', ['-n', 'user.color', '-v', 'hacked', path.join(root, snap, 'docs/a.txt')]);
    sh('setfattr', ['-n', 'user.added', '-v', 'x', path.join(root, snap, 'tool')]); // an object recorded without user.* attributes
    sh('setfacl', ['-b', path.join(root, snap, 'docs/sub')]);
    const bad = runCli(['verify', root, '--json'], { env: ENV });
    expect(bad.code).toBe(1);
    const findings = JSON.parse(bad.stdout).findings as { kind: string; paths: string[]; message: string }[];
    expect(findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'object-xattrs', paths: [`${snap}/docs/a.txt`], message: expect.stringContaining('~user.color') }),
        expect.objectContaining({ kind: 'object-xattrs', paths: [`${snap}/tool`], message: expect.stringContaining('+user.added') }),
        expect.objectContaining({ kind: 'entry-xattrs', paths: [`${snap}/docs/sub`] }),
      ]),
    );
    expect(runCli(['verify', root, '--quick', '--json'], { env: ENV }).code).toBe(1);
    const fixed = runCli(['verify', root, '--repair'], { env: ENV });
    expect(fixed.code, fixed.stdout).toBe(0);
    expect(attrsOf(path.join(root, snap))).toEqual(attrsOf(latest));
    expect(runCli(['verify', root], { env: ENV }).code).toBe(0);
  });

  it('a take that finds an object whose attributes were changed through a dated folder stores it again', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const old = new Date(Date.now() - 60_000);
    for (const f of ['docs/a.txt', 'docs/b.txt', 'docs/sub/acl.txt', 'tool']) fs.utimesSync(path.join(latest, f), old, old);
    spawnSync('sleep', ['2.2']);
    const first = JSON.parse(runCli(['take', root, '--xattrs', '--json'], { env: ENV }).stdout).snapshot as string;
    sh('setfattr', ['-n', 'user.color', '-v', 'hacked', path.join(root, first, 'docs/a.txt')]);
    const again = runCli(['take', root, '--xattrs', '--json'], { env: ENV });
    expect(again.code).toBe(3);
    const r = JSON.parse(again.stdout);
    expect(r.warnings).toEqual([expect.objectContaining({ kind: 'damaged', path: 'docs/a.txt' })]);
    expect(sh('getfattr', ['--only-values', '-n', 'user.color', path.join(root, r.snapshot, 'docs/a.txt')])).toBe('red');
  });

  it('without --xattrs nothing is recorded; take.xattrs=true turns it on, and turning it off re-reads each file once', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const plain = JSON.parse(runCli(['take', root, '--json'], { env: ENV }).stdout).snapshot as string;
    expect(objectFiles(root).every((n) => !n.includes('_x'))).toBe(true);
    expect(spawnSync('getfattr', ['-n', 'user.color', path.join(root, plain, 'docs/a.txt')]).status).not.toBe(0);
    expect(runCli(['config', root, 'take.xattrs=true'], { env: ENV }).code).toBe(0);
    const withSetting = runCli(['take', root, '--json'], { env: ENV });
    expect(withSetting.code, withSetting.stderr).toBe(0);
    const s = JSON.parse(withSetting.stdout);
    expect(s.hashedFiles).toBe(4); // the records of a take without attributes are not trusted
    expect(sh('getfattr', ['--only-values', '-n', 'user.color', path.join(root, s.snapshot, 'docs/a.txt')])).toBe('red');
    const off = JSON.parse(runCli(['take', root, '--no-xattrs', '--json'], { env: ENV }).stdout);
    expect(off.hashedFiles).toBe(4);
    expect(spawnSync('getfattr', ['-n', 'user.color', path.join(root, off.snapshot, 'docs/a.txt')]).status).not.toBe(0);
    expect(runCli(['verify', root], { env: ENV }).code).toBe(0);
  });

  it.skipIf(!STRACE)('a take without --xattrs makes no attribute system call at all, even on a source that has attributes', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const calls = (args: string[]) => {
      const log = path.join(tempDir(), 'strace.log');
      const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=%file,listxattr,llistxattr,flistxattr,getxattr,lgetxattr,fgetxattr', '-o', log, process.execPath, CLI, ...args], {
        env: { ...process.env, ...ENV },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      return fs.readFileSync(log, 'utf8').split('\n').filter((l) => /xattr\(/.test(l)).length;
    };
    expect(calls(['take', root, '-q'])).toBe(0);
    expect(calls(['take', root, '-q', '--xattrs'])).toBeGreaterThan(0); // the same trace does see them when asked
  });

  it('a file whose name is not valid UTF-8 is stored without attributes, with a warning; a catalog that lost a set is damage', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const odd = Buffer.concat([Buffer.from(latest + '/docs/'), Buffer.from([0x66, 0xff, 0x2e, 0x74])]);
    fs.writeFileSync(odd, 'odd name\n');
    const r = runCli(['take', root, '--xattrs', '--json'], { env: ENV });
    expect(r.code, r.stderr).toBe(3);
    const j = JSON.parse(r.stdout);
    expect(j.warnings).toEqual([{ kind: 'xattrs', path: 'docs/f\\xff.t', message: expect.stringMatching(/^extended attributes not recorded: the name is not valid UTF-8/) }]);
    expect(j.files).toBe(5);
    expect(runCli(['verify', root], { env: ENV }).code).toBe(0);

    // A set the catalog lost (edited by hand, a hostile replica) is reported, never guessed at.
    const db = spawnSync('sqlite3', ['-version']).status === 0;
    if (!db) return;
    spawnSync('sqlite3', [path.join(root, '.snap/catalog.db'), "DELETE FROM xattr_sets WHERE digest IN (SELECT xattrs FROM objects WHERE length(xattrs) = 32 LIMIT 1)"]);
    const bad = runCli(['verify', root, '--json'], { env: ENV });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/malformed key, size, replica count or attribute set/);
  });

  it('when the native module cannot load, take --xattrs fails with one line and exit 2, creating nothing', () => {
    const { root, latest } = newRoot();
    fs.writeFileSync(path.join(latest, 'f'), 'x');
    const r = runCli(['take', root, '--xattrs'], { env: { ...ENV, LINKSNAP_TEST_NO_XATTR_BINDING: '1' } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^snap: extended attributes cannot be read or written here: the native module @napi-rs\/xattr did not load/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.existsSync(path.join(root, '.snap'))).toBe(false);
  });

  it.skipIf(!isRoot)('restore to a file system that refuses attributes warns about each one (exit 3), never drops them silently', () => {
    const { root, latest } = newRoot();
    makeSource(latest);
    const snap = JSON.parse(runCli(['take', root, '--xattrs', '--json'], { env: ENV }).stdout).snapshot as string;
    const target = tempDir();
    expect(spawnSync('mount', ['-t', 'ramfs', 'ramfs', target]).status).toBe(0); // ramfs has no extended attributes
    try {
      const r = runCli(['restore', root, snap, 'docs', '--to', path.join(target, 'docs'), '--json'], { env: ENV });
      expect(r.code, r.stderr).toBe(3);
      const warnings = JSON.parse(r.stdout).warnings as { kind: string; path: string; message: string }[];
      expect(warnings).toEqual(
        expect.arrayContaining([
          { kind: 'xattrs', path: 'docs/a.txt', message: 'extended attribute user.color not restored (refused by the target: EOPNOTSUPP)' },
          expect.objectContaining({ kind: 'xattrs', path: 'docs/sub', message: expect.stringContaining('system.posix_acl_default') }),
          expect.objectContaining({ kind: 'xattrs', path: 'docs' }),
        ]),
      );
      expect(r.stderr).toContain('snap: warning: docs/a.txt: extended attribute user.color not restored');
      expect(fs.readFileSync(path.join(target, 'docs/a.txt'), 'utf8')).toBe('same bytes\n');
    } finally {
      unmount(target);
    }
  });
});

/**
 * An empty or collapsed source must not rotate history away, through the real CLI: a take whose
 * source is empty, or lost more than take.max-shrink of the last snapshot's files or bytes, is
 * refused (exit 2, one line naming the counts and the overrides) and leaves the store exactly as
 * it was; --allow-shrink or the saved setting lets it through; rotation keeps the newest snapshot
 * with files while newer ones are empty. The rule itself: test/take/shrink-guard.test.ts and
 * test/retention/newest-with-files.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { newRoot } from '../helpers/tmp.js';
import { objectDirListing, storeProblems } from '../helpers/store-check.js';
import { openRoot } from '../../src/ops/shared/root.js';

const env = { LINKSNAP_NO_SYNC: '1' };
const snap = (...args: string[]) => runCli(args, { env });

function takeOk(...args: string[]): { snapshot: string; files: number; rotated: string[] } {
  const r = snap('take', ...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const listed = (root: string): { name: string; files: number }[] => JSON.parse(snap('list', root, '--json').stdout);
const datedFolders = (root: string) => fs.readdirSync(root).filter((n) => /^\d{4}-/.test(n)).sort();

/** Everything a refused take must leave as it was. */
function storeState(root: string) {
  return {
    snapshots: listed(root).map((s) => s.name),
    folders: datedFolders(root),
    objects: objectDirListing(root),
    staging: fs.readdirSync(path.join(root, '.snap/staging')),
    tmp: fs.readdirSync(path.join(root, '.snap/tmp')),
  };
}

/** A root with two snapshots of ten files (f0..f9, 100 bytes each). */
function rootWithHistory(): { root: string; latest: string; names: string[] } {
  const { root, latest } = newRoot();
  for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(latest, `f${i}`), String(i).repeat(100));
  const names = [takeOk(root).snapshot];
  fs.writeFileSync(path.join(latest, 'f0'), 'z'.repeat(100));
  names.push(takeOk(root).snapshot);
  return { root, latest, names };
}

/** Lose 7 of the ten files and add one new one: 4 files, 60 % of the files and bytes gone. */
function loseSixtyPercent(latest: string): void {
  for (let i = 3; i < 10; i++) fs.rmSync(path.join(latest, `f${i}`));
  fs.writeFileSync(path.join(latest, 'new'), 'n'.repeat(100)); // published during the walk, then removed
}

function expectRefused(r: { code: number; stderr: string; stdout: string }): string {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).not.toMatch(/\n\s+at /);
  expect(lines[0]).toMatch(/--allow-shrink/);
  expect(lines[0]).toMatch(/take\.max-shrink=<percent>/);
  return lines[0]!;
}

describe('snap take refuses an empty or collapsed source', () => {
  it('an empty .latest (an unmounted mount point): exit 2, one line, nothing stored or rotated', () => {
    const { root, latest, names } = rootWithHistory();
    for (const f of fs.readdirSync(latest)) fs.rmSync(path.join(latest, f));
    const before = storeState(root);
    const line = expectRefused(snap('take', root, '--keep', '1'));
    expect(line).toBe(
      `snap: the source ${fs.realpathSync(latest)} is empty (no files), but the last snapshot ${names[1]} had 10 files (1,000 bytes); nothing was stored. ` +
        `Check that it is mounted and complete; to take it anyway: snap take ${root} --allow-shrink (this run), or snap config ${root} take.max-shrink=<percent> (100: never refuse)`,
    );
    expect(storeState(root)).toEqual(before); // no row, no folder, no rotation (--keep 1), no objects, no leftovers
    expect(before.snapshots).toEqual(names);
    expect(fs.existsSync(path.join(root, '.snap/dirty'))).toBe(false); // the next take needs no sweep
    expect(storeProblems(root)).toEqual([]);
  }, 60_000);

  it('a source that lost 60 % of its files: refused, and the object its new file published is removed', () => {
    const { root, latest, names } = rootWithHistory();
    loseSixtyPercent(latest);
    const before = storeState(root);
    const line = expectRefused(snap('take', root, '--keep', '1'));
    expect(line).toContain(`shrank to 4 files (400 bytes) from 10 files (1,000 bytes) in the last snapshot ${names[1]} (60% of the files and 60% of the bytes gone; take.max-shrink is 50%)`);
    expect(storeState(root)).toEqual(before);
    expect(storeProblems(root)).toEqual([]);

    // --allow-shrink takes it, for this run.
    const t = takeOk(root, '--allow-shrink', '--keep', '1');
    expect(t.files).toBe(4);
    expect(t.rotated).toEqual(names);
    expect(fs.readFileSync(path.join(root, t.snapshot, 'new'), 'utf8')).toBe('n'.repeat(100));
  }, 60_000);

  it('take.max-shrink=80 lets a 60 % loss through; a bad value is refused; a damaged saved one stops the take (exit 6)', () => {
    const { root, latest } = rootWithHistory();
    loseSixtyPercent(latest);
    const bad = snap('config', root, 'take.max-shrink=150');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/take\.max-shrink must be a percentage from 0 to 100, got '150'/);
    expect(snap('config', root, 'take.max-shrink=80%').stdout).toBe('take.max-shrink=80\n');
    expect(takeOk(root).files).toBe(4);

    const r = openRoot(root);
    r.catalog.setConfig('take.max-shrink', 'lots');
    r.close();
    const before = storeState(root);
    const d = snap('take', root);
    expect(d.code).toBe(6);
    expect(d.stderr).toMatch(/the saved setting take\.max-shrink="lots" is not a percentage/);
    expect(storeState(root)).toEqual(before);
  }, 60_000);

  it('the first take of an empty source succeeds, and so do takes after an empty snapshot', () => {
    const { root, latest } = newRoot();
    expect(takeOk(root).files).toBe(0);
    expect(takeOk(root).files).toBe(0); // an intentionally empty folder: no --allow-shrink each night
    fs.writeFileSync(path.join(latest, 'a'), 'a'); // growing is never refused
    expect(takeOk(root).files).toBe(1);
  }, 60_000);

  it('take --dry-run reports that the real take would refuse (and not with --allow-shrink)', () => {
    const { root, latest } = rootWithHistory();
    loseSixtyPercent(latest);
    const before = storeState(root);
    const d = snap('take', root, '--dry-run', '--quiet');
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toMatch(/^snap: dry run: the real take would refuse: the source .* shrank to 4 files .*--allow-shrink/);
    const j = JSON.parse(snap('take', root, '--dry-run', '--json').stdout);
    expect(j.wouldRefuse).toMatch(/shrank to 4 files/);
    const allowed = snap('take', root, '--dry-run', '--json', '--allow-shrink');
    expect(JSON.parse(allowed.stdout).wouldRefuse).toBeUndefined();
    expect(allowed.stderr).not.toMatch(/would refuse/);
    expect(storeState(root)).toEqual(before);
  }, 60_000);
});

describe('rotation keeps the newest snapshot with files', () => {
  it('repeated empty takes with --allow-shrink --keep 2 never remove it; prune --dry-run says why', () => {
    const { root, latest, names } = rootWithHistory();
    for (const f of fs.readdirSync(latest)) fs.rmSync(path.join(latest, f));
    const empties: string[] = [];
    for (let i = 0; i < 4; i++) {
      empties.push(takeOk(root, '--allow-shrink', '--keep', '2').snapshot);
      const live = listed(root);
      // The newest with files, then the two newest (empty) ones.
      expect(live.map((s) => s.name)).toEqual([names[1], ...empties.slice(-2)]);
      expect(live[0]!.files).toBe(10);
      expect(datedFolders(root)).toEqual(live.map((s) => s.name));
    }
    const dry = snap('prune', root, '--keep-last', '1', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(`keep    ${names[1]}  newest with files (newer ones are empty)\nremove  ${empties[2]}\nkeep    ${empties[3]}  last (#1), newest\n`);
    const j = JSON.parse(snap('prune', root, '--keep-last', '1', '--json').stdout);
    expect(j.removed).toEqual([empties[2]]);
    expect(j.kept[0]).toEqual({ name: names[1], pinned: false, reasons: [{ rule: 'newest-with-files' }] });
    expect(fs.readFileSync(path.join(root, names[1]!, 'f9'), 'utf8')).toBe('9'.repeat(100));
  }, 120_000);
});

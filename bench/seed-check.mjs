#!/usr/bin/env node
// Checks bench/seed-rotate.sh against the reference reconstruction of the seed script
// (../shared/reference/rotate_backup.sh, present only next to the team's main checkout):
// both rotate the same small tree four times, keeping three snapshots, with edits in between;
// their snapshots must have the same name scheme, the same contents and metadata, and the same
// hard-link structure (which paths share an inode with the previous snapshot).
//
//   node bench/seed-check.mjs [scratch-dir]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SEED = path.join(here, 'seed-rotate.sh');
export const REFERENCE = path.resolve(here, '../../shared/reference/rotate_backup.sh');
const NAME = /^\d{4}-\d\d-\d\d_\d\d\.\d\d\.\d\d$/;

function write(file, text, mtime) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  if (mtime) fs.utimesSync(file, mtime, mtime);
}

function makeTree(src) {
  const old = new Date('2025-01-01T00:00:00Z');
  for (let d = 0; d < 3; d++) for (let f = 0; f < 10; f++) write(path.join(src, `d${d}`, 'sub', `f${f}.txt`), `file ${d}/${f}\n`.repeat(f + 1), old);
  write(path.join(src, 'top.txt'), 'top\n', old);
  fs.symlinkSync('d0/sub/f0.txt', path.join(src, 'link-to-f0'));
  fs.chmodSync(path.join(src, 'd1/sub/f1.txt'), 0o600);
}

/** Edits between rotations: rewrite (new size), add, delete, rename, chmod. */
function edit(src, round) {
  write(path.join(src, `d${round % 3}`, 'sub', 'f2.txt'), `rewritten in round ${round}\n`.repeat(round + 3));
  write(path.join(src, `d${round % 3}`, `added-${round}.txt`), `added ${round}\n`);
  fs.rmSync(path.join(src, `d${(round + 1) % 3}`, 'sub', `f${3 + round}.txt`));
  fs.renameSync(path.join(src, `d${(round + 2) % 3}`, 'sub', `f${6 + round}.txt`), path.join(src, `d${(round + 2) % 3}`, `renamed-${round}.txt`));
  fs.chmodSync(path.join(src, 'top.txt'), 0o640 + round);
}

/** path → type, mode, size, mtime, content digest or link target; and inode, for link structure. */
function describe(dir, rel = '', out = new Map()) {
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = path.join(rel, name);
    const st = fs.lstatSync(path.join(dir, r));
    const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
    const body = kind === 'file' ? crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, r))).digest('hex') : kind === 'symlink' ? fs.readlinkSync(path.join(dir, r)) : '';
    out.set(r, { meta: `${kind} ${st.mode.toString(8)} ${kind === 'dir' ? '' : st.size} ${kind === 'file' ? st.mtimeMs : ''} ${body}`, ino: st.ino, nlink: st.nlink });
    if (kind === 'dir') describe(dir, r, out);
  }
  return out;
}

/** The snapshots of a root, each described, plus which paths share an inode with the previous one. */
function shape(root) {
  const entries = fs.readdirSync(root).sort();
  const stray = entries.filter((e) => e !== '.latest' && !NAME.test(e));
  const snaps = entries.filter((e) => NAME.test(e)).map((e) => describe(path.join(root, e)));
  const shared = snaps.slice(1).map((s, i) => [...s].filter(([, v]) => v.meta.startsWith('file')).map(([p, v]) => `${p}:${snaps[i].get(p)?.ino === v.ino}:${v.nlink}`).join('\n'));
  return { stray, count: snaps.length, contents: snaps.map((s) => [...s].map(([p, v]) => `${p} ${v.meta}`).join('\n')), shared };
}

function rotate(script, args) {
  const r = spawnSync(script, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(script)} exited ${r.status}: ${r.stderr.trim().split('\n').at(-1)}`);
}

/** {} when the two agree, { difference } (one line) when not, { skipped } when there is no reference. */
export function checkSeed(scratch) {
  if (!fs.existsSync(REFERENCE)) return { skipped: `no reference script at ${REFERENCE}: seed-rotate.sh not compared with it` };
  const base = fs.mkdtempSync(path.join(scratch, 'seed-check-'));
  try {
    const src = path.join(base, 'src');
    makeTree(src);
    const ours = path.join(base, 'ours');
    const ref = path.join(base, 'reference');
    for (const r of [ours, ref]) {
      fs.mkdirSync(r);
      fs.symlinkSync(src, path.join(r, '.latest'));
    }
    for (let round = 0; round < 4; round++) {
      if (round > 0) edit(src, round);
      rotate(REFERENCE, ['--copy-first', ref, '3']);
      rotate(SEED, [ours, '3']);
    }
    const a = shape(ours);
    const b = shape(ref);
    if (a.stray.length || b.stray.length) return { difference: `leftover entries: ours ${a.stray.join(',') || '-'}, reference ${b.stray.join(',') || '-'}` };
    if (a.count !== 3 || b.count !== 3) return { difference: `snapshots kept: ours ${a.count}, reference ${b.count}, expected 3` };
    for (let i = 0; i < 3; i++) if (a.contents[i] !== b.contents[i]) return { difference: `snapshot ${i + 1} of 3 differs in contents or metadata` };
    for (let i = 0; i < 2; i++) if (a.shared[i] !== b.shared[i]) return { difference: `snapshot ${i + 2} of 3 differs in which files are hard links to the previous snapshot` };
    return {};
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = checkSeed(process.argv[2] ?? os.tmpdir());
  if (r.skipped) console.log(`seed-check: skipped: ${r.skipped}`);
  else if (r.difference) {
    console.error(`seed-check: bench/seed-rotate.sh differs from the reference: ${r.difference}`);
    process.exit(1);
  } else console.log('seed-check: bench/seed-rotate.sh matches the reference (names, contents, metadata, hard links)');
}

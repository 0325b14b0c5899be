#!/usr/bin/env node
// What one per-entry system call costs through Node's fs and through the native helper
// (native/, src/util/fsat.ts): the numbers behind docs/decisions.md, "The *at() system calls".
//
//   node bench/floors/fsat-floor.mjs <root>     (a linksnap root with at least one take)
//
// Loops over up to 20,000 entries of the root's newest snapshot folder with the most files and
// over as many of its objects, three times each, and prints the mean cost per call: lstat by
// /proc/self/fd, by absolute path and natively relative to the open folder; link of an object
// into a scratch folder of the store's tmp/ (removed after) plus the lstat that checks it, both
// ways. Needs the addon built (npm ci, or node scripts/build-native.mjs).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const addon = createRequire(import.meta.url)(path.join(repo, 'native/build/Release/linksnap_fsat.node'));
const root = process.argv[2];
if (!root) {
  console.error('usage: node bench/floors/fsat-floor.mjs <root>');
  process.exit(2);
}
const N = 20_000;
const { O_RDONLY, O_DIRECTORY } = fs.constants;

/** The folder under `top` with the most regular files (a breadth-first look, bounded). */
function busiestFolder(top) {
  let best = top;
  let bestCount = -1;
  const queue = [top];
  for (let seen = 0; queue.length && seen < 5000; seen++) {
    const dir = queue.shift();
    const ents = fs.readdirSync(dir, { withFileTypes: true });
    const files = ents.filter((e) => e.isFile()).length;
    if (files > bestCount) [best, bestCount] = [dir, files];
    for (const e of ents) if (e.isDirectory()) queue.push(path.join(dir, e.name));
  }
  return best;
}

function time(label, items, fn) {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < 3; k++) items.forEach(fn);
  console.log(`${label.padEnd(52)} ${(Number(process.hrtime.bigint() - t0) / (3 * items.length) / 1000).toFixed(2)} µs`);
}

const snaps = fs.readdirSync(root).filter((n) => /^\d{4}-\d\d-\d\d_\d\d\.\d\d\.\d\d$/.test(n)).sort();
if (!snaps.length) {
  console.error(`${root} has no snapshot`);
  process.exit(2);
}
const dir = busiestFolder(path.join(root, snaps.at(-1)));
const names = fs.readdirSync(dir, { encoding: 'buffer' }).slice(0, N);
const fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
const out = new BigInt64Array(9);
console.log(`${names.length} entries of ${dir}`);
time('lstat, fs, /proc/self/fd/<fd>/<name>', names, (n) => fs.lstatSync(Buffer.concat([Buffer.from(`/proc/self/fd/${fd}/`), n]), { bigint: true }));
time('lstat, fs, absolute path', names, (n) => fs.lstatSync(Buffer.concat([Buffer.from(dir + '/'), n]), { bigint: true }));
time('lstat, native, relative to the open folder', names, (n) => addon.lstatAt(fd, n, out));
fs.closeSync(fd);

const objects = path.join(root, '.snap/objects');
const objs = [];
for (const d of fs.readdirSync(objects)) {
  for (const n of fs.readdirSync(path.join(objects, d))) objs.push(`${d}/${n}`);
  if (objs.length >= N) break;
}
const scratch = path.join(root, '.snap/tmp', `fsat-floor-${process.pid}`);
const once = (label, fn) => {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch);
  const ofd = fs.openSync(objects, O_RDONLY | O_DIRECTORY);
  const sfd = fs.openSync(scratch, O_RDONLY | O_DIRECTORY);
  const t0 = process.hrtime.bigint();
  objs.forEach((o, i) => fn(o, String(i), ofd, sfd));
  console.log(`${label.padEnd(52)} ${(Number(process.hrtime.bigint() - t0) / objs.length / 1000).toFixed(2)} µs`);
  fs.closeSync(ofd);
  fs.closeSync(sfd);
};
console.log(`${objs.length} objects of ${objects}`);
once('link + lstat of the new name, fs, absolute paths', (o, n) => {
  const dest = path.join(scratch, n);
  fs.linkSync(path.join(objects, o), dest);
  fs.lstatSync(dest, { bigint: true });
});
once('link + lstat of the new name, native, relative', (o, n, ofd, sfd) => {
  if (addon.linkAt(ofd, o, sfd, n) !== 0) throw new Error('linkAt failed');
  addon.lstatAt(sfd, n, out);
});
fs.rmSync(scratch, { recursive: true, force: true });

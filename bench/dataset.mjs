// Datasets for bench/bench.mjs: generated ones (deterministic: same seed, same bytes, names,
// sizes), the 1 % mutation, and copies of real trees.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** mulberry32: a small, fast, seeded PRNG. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(r) {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/** A pool of pseudo-random bytes; file contents are slices at random offsets (distinct content). */
function bytePool(size, seed) {
  const r = rng(seed);
  const pool = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) pool.writeUInt32LE((r() * 4294967296) >>> 0, i);
  return pool;
}

function contentOf(pool, r, size, salt) {
  if (size <= pool.length - 8) {
    const off = Math.floor(r() * (pool.length - size - 8));
    const b = Buffer.from(pool.subarray(off, off + size));
    if (size >= 8) b.writeDoubleLE(salt, 0); // make every generated file unique
    return b;
  }
  const b = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += pool.length) pool.copy(b, o, 0, Math.min(pool.length, size - o));
  b.writeDoubleLE(salt, 0);
  return b;
}

const FIXED_MTIME = new Date('2025-06-01T12:00:00Z');

/**
 * "small": `files` files of log-normal size around 4 KiB in files/20 folders (two levels),
 * ~5% of them duplicates of an earlier file's content. "large": files of 2–20 MiB.
 */
export function generate(dir, kind, files, seed = 42) {
  fs.mkdirSync(dir, { recursive: true });
  const r = rng(seed);
  const pool = bytePool(kind === 'large' ? 32 << 20 : 8 << 20, seed + 1);
  const list = [];
  let bytes = 0;
  const dirs = Math.max(1, Math.round(files / 20));
  for (let i = 0; i < files; i++) {
    let rel;
    if (kind === 'large') rel = `big/${String(i).padStart(4, '0')}.bin`;
    else {
      const d = i % dirs;
      rel = `d${String(Math.floor(d / 70)).padStart(3, '0')}/s${String(d % 70).padStart(2, '0')}/f${i}.dat`;
    }
    const size = kind === 'large' ? Math.floor((2 + r() * 18) * 1024 * 1024) : Math.max(1, Math.min(1 << 20, Math.round(Math.exp(Math.log(4096) + 0.9 * normal(r)))));
    const dup = kind === 'small' && i > 20 && r() < 0.05;
    const data = dup ? fs.readFileSync(path.join(dir, list[Math.floor(r() * list.length)])) : contentOf(pool, r, size, i + seed * 1e7);
    const abs = path.join(dir, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, data);
    fs.utimesSync(abs, FIXED_MTIME, FIXED_MTIME);
    list.push(rel);
    bytes += data.length;
  }
  return { files: list, bytes };
}

/** 1% changed, 0.5% added, 0.5% deleted, 0.5% renamed (deterministic). */
export function mutate(dir, files, seed = 7) {
  const r = rng(seed);
  const pool = bytePool(4 << 20, seed + 3);
  const pick = () => files[Math.floor(r() * files.length)];
  const touched = new Set();
  const n = files.length;
  const stats = { changed: 0, added: 0, deleted: 0, renamed: 0 };
  const take = () => {
    for (let tries = 0; tries < 100; tries++) {
      const f = pick();
      if (!touched.has(f)) {
        touched.add(f);
        return f;
      }
    }
    return undefined;
  };
  for (let i = 0; i < Math.max(1, Math.round(n * 0.01)); i++) {
    const f = take();
    if (!f) break;
    const abs = path.join(dir, f);
    const size = fs.statSync(abs).size;
    fs.writeFileSync(abs, contentOf(pool, r, size, 1e9 + i));
    stats.changed++;
  }
  for (let i = 0; i < Math.max(1, Math.round(n * 0.005)); i++) {
    const f = take();
    if (!f) break;
    const abs = path.join(dir, path.dirname(f), `added-${i}.dat`);
    fs.writeFileSync(abs, contentOf(pool, r, 4096 + Math.floor(r() * 8192), 2e9 + i));
    stats.added++;
  }
  for (let i = 0; i < Math.max(1, Math.round(n * 0.005)); i++) {
    const f = take();
    if (!f) break;
    fs.rmSync(path.join(dir, f));
    stats.deleted++;
  }
  for (let i = 0; i < Math.max(1, Math.round(n * 0.005)); i++) {
    const f = take();
    if (!f) break;
    fs.renameSync(path.join(dir, f), path.join(dir, path.dirname(f), `renamed-${i}.dat`));
    stats.renamed++;
  }
  return stats;
}

/**
 * A real tree: `cp -a` of each folder into dir/<its name>. Returns its regular files (relative
 * paths, for the mutation) and their bytes.
 */
export function copyTree(dir, folders) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of folders) {
    const r = spawnSync('cp', ['-a', f, path.join(dir, path.basename(f))], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cp -a ${f}: ${r.stderr.trim().split('\n')[0]}`);
  }
  const list = [];
  let bytes = 0;
  const walk = (rel) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        list.push(r);
        bytes += fs.lstatSync(path.join(dir, r)).size;
      }
    }
  };
  walk('');
  return { files: list, bytes };
}

/** Every file in one folder (a maildir, a camera dump): count tiny files in dir/inbox. */
export function generateOneFolder(dir, count) {
  const inbox = path.join(dir, 'inbox');
  fs.mkdirSync(inbox, { recursive: true });
  for (let i = 0; i < count; i++) fs.writeFileSync(path.join(inbox, `${1700000000 + i}.M${i}P1.host:2,S`), `message ${i}\n`);
}

/** 1,000,000 tiny files: 100 folders d0..d99 of 100 folders of 100 files. */
export function generateMillion(dir) {
  for (let d = 0; d < 10_000; d++) {
    const sub = path.join(dir, `d${Math.floor(d / 100)}`, `s${d % 100}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(sub, `f${i}`), `${d}:${i}`);
  }
}

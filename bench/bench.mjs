#!/usr/bin/env node
// linksnap benchmark harness: `npm run bench -- --help`. docs/benchmarks.md says what it measures
// and why. Every timed case runs on the same machine in the same run as its baselines: the seed
// script (bench/seed-rotate.sh), rsync --link-dest, restic, and the floors cp -a, cp -al, a walk.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copyTree, generate, generateMillion, generateOneFolder, mutate } from './dataset.mjs';
import { parseArgs } from './options.mjs';
import { report, writeInto } from './report.mjs';
import { checkSeed } from './seed-check.mjs';
import { CLI, dirtyKiB, du, freeBytes, has, hasCommand, hasGnuTime, hasNative, loadAverage, need, restic, rm, run, seed, sleep, snap, syncBefore, TMPFS_MAGIC } from './tools.mjs';
import { uncheckedCli } from './unchecked-cli.mjs';

const SIZES = {
  small: { small: 20_000, large: 12, 'one-folder': 150_000 },
  full: { small: 100_000, large: 200, 'one-folder': 1_000_000 },
};
const DIRTY_BYTES = 2 ** 31; // 2 GiB
const FALLBACK = { LINKSNAP_NATIVE: '0' };
const RACY_MS = 2100; // linksnap re-reads files changed within 2 s of a take; real trees are older
const NEXT_SECOND_MS = 1100; // snapshots are named by the second
const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined;
};

function catalogBytes(root) {
  return ['catalog.db', 'catalog.db-wal'].map((f) => path.join(root, '.snap', f)).filter((f) => fs.existsSync(f)).reduce((n, f) => n + fs.statSync(f).size, 0);
}

/** Whether the work folder has `bytes` free; says so in one line when not (the part is skipped). */
function roomFor(what, bytes, o) {
  if (freeBytes(o.work) >= bytes) return true;
  console.error(`bench: skipping ${what}: needs ~${(bytes / 2 ** 30).toFixed(1)} GiB free in ${o.work}, has ${(freeBytes(o.work) / 2 ** 30).toFixed(1)} GiB`);
  return false;
}

/** Make the pristine copy of a dataset once; later runs reuse it. */
function prepare(base, label, make) {
  const pristine = path.join(base, 'pristine');
  const marker = path.join(base, 'pristine.json');
  if (!fs.existsSync(marker)) {
    rm(base);
    process.stderr.write(`bench: preparing ${label}...\n`);
    const g = make(pristine);
    fs.writeFileSync(marker, JSON.stringify({ files: g.files.length, bytes: g.bytes, list: g.files }));
  }
  return { pristine, meta: JSON.parse(fs.readFileSync(marker, 'utf8')) };
}

/**
 * One dataset: first, no-change and 1 %-mutated runs of linksnap, the seed script, rsync
 * --link-dest and restic backup; the floors; verify against a walk of the root and restic check;
 * gc; materialize. `dirty` adds the no-change take beside another process's unwritten data.
 * `onRun` gets the medians so far after every run.
 */
function benchSet(set, base, pristine, meta, o, { objectCheck, dirty }, onRun) {
  if (!roomFor(set, meta.bytes * 6 + (dirty ? DIRTY_BYTES : 0), o)) return undefined; // pristine, source, 3 roots, restic
  const samples = {};
  const add = (k, v) => (samples[k] ??= []).push(v);
  const withRestic = has('restic');
  const unchecked = objectCheck ? uncheckedCli(base) : undefined;
  if (objectCheck && !unchecked) console.error('bench: cannot find the object check in dist/store/source-scan.js; its cost is not measured');
  const notes = new Set();
  const summary = (runs) => {
    const cpA = samples['cp -a'];
    const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
    return { set, runs, files: meta.files, bytes: meta.bytes, med, cpSpread: [Math.min(...cpA), Math.max(...cpA)], notes: [...notes] };
  };
  const seedRun = (root) => {
    const r = seed(root);
    if (r.status !== 0) notes.add(`the seed script's rsync -aLk exited ${r.status} (a partial transfer: dangling symlinks under -L, or vanished files); its snapshots are kept, as the original script's were`);
    return r.seconds;
  };

  for (let rep = 1; rep <= o.runs; rep++) {
    process.stderr.write(`bench: ${set} run ${rep}/${o.runs} (load ${loadAverage()})\n`);
    const w = path.join(base, 'run');
    rm(w);
    fs.mkdirSync(w);
    const src = path.join(w, 'src');
    add('cp -a', run('cp', ['-a', pristine, src]).seconds);
    add('cp -a sync', run('sync', ['-f', src], { sync: false }).seconds); // the copy made durable
    add('cp -al', run('cp', ['-al', src, path.join(w, 'linkcopy')]).seconds);
    rm(path.join(w, 'linkcopy'));
    add('walk source', run('sh', ['-c', `find "${src}" -printf '%s\\n' > /dev/null`]).seconds);
    sleep(RACY_MS);

    const L = path.join(w, 'linksnap');
    const S = path.join(w, 'seed');
    const R = path.join(w, 'rsync');
    const Q = path.join(w, 'restic');
    for (const r of [L, S, R]) fs.mkdirSync(r);
    fs.symlinkSync(src, path.join(L, '.latest'));
    fs.symlinkSync(src, path.join(S, '.latest'));
    if (withRestic) restic(Q, ['init']);
    const rss = (k, r) => (add(`rss ${k}`, r.rssKiB), r.seconds);

    add('linksnap first', rss('first take', snap(['take', L, '--quiet'])));
    const cat1 = catalogBytes(L);
    add('catalog after first take', cat1);
    add('seed first', seedRun(S));
    add('rsync first', run('rsync', ['-a', '--delete', `${src}/`, `${R}/1/`]).seconds);
    if (withRestic) add('restic first', restic(Q, ['backup', src]).seconds);

    sleep(NEXT_SECOND_MS);
    add('linksnap no-change', rss('no-change take', snap(['take', L, '--quiet'])));
    add('catalog growth per no-change take', catalogBytes(L) - cat1);
    if (unchecked) {
      // The same no-change take without the object check, and with it again (order effects).
      sleep(NEXT_SECOND_MS);
      add('linksnap no-change (no object check)', run(process.execPath, [unchecked, 'take', L, '--quiet']).seconds);
      sleep(NEXT_SECOND_MS);
      add('linksnap no-change (object check, again)', snap(['take', L, '--quiet']).seconds);
    }
    if (hasNative) {
      // The same no-change take on the fs fallback of the native helper (src/util/fsat.ts):
      // what the addon is worth, in the same run.
      sleep(NEXT_SECOND_MS);
      add('linksnap no-change (fs fallback)', snap(['take', L, '--quiet'], { env: FALLBACK }).seconds);
    }
    add('seed no-change', seedRun(S));
    add('rsync no-change', run('rsync', ['-a', '--delete', `--link-dest=${R}/1`, `${src}/`, `${R}/2/`]).seconds);
    if (withRestic) add('restic no-change', restic(Q, ['backup', src]).seconds);

    if (dirty) {
      // Alone, then beside 2 GB another process wrote and did not sync: a take that flushed the
      // whole file system would wait for all of it.
      sleep(NEXT_SECOND_MS);
      add('linksnap no-change alone', snap(['take', L, '--quiet']).seconds);
      const junk = path.join(w, 'other-process.bin');
      run('dd', ['if=/dev/zero', `of=${junk}`, 'bs=1M', `count=${DIRTY_BYTES / 2 ** 20}`, 'status=none']);
      add('dirty KiB at take start', dirtyKiB());
      add('linksnap no-change beside dirty', snap(['take', L, '--quiet'], { sync: false }).seconds);
      rm(junk);
    }

    mutate(src, meta.list, 7 + rep);
    sleep(RACY_MS);
    add('linksnap mutated', rss('mutated take', snap(['take', L, '--quiet'])));
    add('seed mutated', seedRun(S));
    add('rsync mutated', run('rsync', ['-a', '--delete', `--link-dest=${R}/2`, `${src}/`, `${R}/3/`]).seconds);
    if (withRestic) add('restic mutated', restic(Q, ['backup', src]).seconds);
    add('disk seed', du(S));
    add('disk rsync', du(R));
    if (withRestic) add('disk restic', du(Q));
    rm(S); // room for what follows, on a small tmpfs
    rm(R);

    if (hasCommand('verify')) {
      add('walk root', run('sh', ['-c', `find "${L}" -printf '%s\\n' > /dev/null`]).seconds);
      add('linksnap verify --quick', rss('verify --quick', snap(['verify', L, '--quick', '--json'], { okCodes: [1] })));
      if (hasNative) add('linksnap verify --quick (fs fallback)', snap(['verify', L, '--quick', '--json'], { okCodes: [1], env: FALLBACK }).seconds);
      add('linksnap verify', rss('verify', snap(['verify', L, '--json'], { okCodes: [1] })));
      if (withRestic) {
        add('restic check', restic(Q, ['check']).seconds);
        add('restic check --read-data', restic(Q, ['check', '--read-data']).seconds);
      }
    }
    if (hasCommand('gc')) add('linksnap gc', rss('gc', snap(['gc', L, '--json'])));
    if (hasCommand('materialize')) {
      const victim = JSON.parse(snap(['list', L, '--json']).stdout).at(-1).name;
      rm(path.join(L, victim));
      add('linksnap materialize', rss('materialize', snap(['materialize', L, victim, '--json'])));
    }
    add('disk linksnap', du(L));
    add('store bytes', du(path.join(L, '.snap/objects')));
    rm(w);
    onRun(summary(rep));
  }
  return summary(o.runs);
}

/** Every file in one folder: time and peak RSS of a first and a no-change take and verify --quick. */
function oneFolder(count, o) {
  const base = path.join(o.work, `one-folder-${count}`);
  const src = path.join(base, 'src');
  if (!fs.existsSync(path.join(base, 'ok'))) {
    rm(base);
    process.stderr.write(`bench: generating one folder of ${count.toLocaleString('en')} files...\n`);
    generateOneFolder(src, count);
    fs.writeFileSync(path.join(base, 'ok'), '');
    sleep(RACY_MS);
  }
  const samples = {};
  const add = (k, v) => (samples[k] ??= []).push(v);
  for (let rep = 1; rep <= o.runs; rep++) {
    process.stderr.write(`bench: one-folder-${count} run ${rep}/${o.runs} (load ${loadAverage()})\n`);
    const L = path.join(base, 'root');
    rm(L);
    fs.mkdirSync(L);
    fs.symlinkSync(src, path.join(L, '.latest'));
    for (const [label, args] of [
      ['first take', ['take', L, '--quiet']],
      ['no-change take', ['take', L, '--quiet']],
      ['verify --quick', ['verify', L, '--quick', '--json']],
    ]) {
      if (label === 'no-change take') sleep(NEXT_SECOND_MS);
      const r = snap(args, { okCodes: [1] });
      add(`${label} s`, r.seconds);
      add(`${label} rss`, r.rssKiB);
    }
    rm(L);
  }
  return { count, med: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) };
}

/** Every command once at 1,000,000 files: time and peak RSS. */
function million(o) {
  const base = path.join(o.work, 'million');
  const src = path.join(base, 'src');
  // Each tiny file takes a block, twice (the source and its object): ~8 GiB of RAM on a tmpfs.
  const made = fs.existsSync(path.join(base, 'ok'));
  if (!roomFor('the 1,000,000-file run', (made ? 1 : 2) * 1e6 * fs.statfsSync(o.work).bsize * 1.1, o)) return undefined;
  if (!made) {
    rm(base);
    process.stderr.write('bench: generating 1,000,000 tiny files...\n');
    generateMillion(src);
    fs.writeFileSync(path.join(base, 'ok'), '');
    sleep(RACY_MS);
  }
  process.stderr.write(`bench: 1,000,000 files (load ${loadAverage()})\n`);
  const L = path.join(base, 'root');
  const out = path.join(base, 'restored');
  rm(L);
  rm(out);
  fs.mkdirSync(L);
  fs.symlinkSync(src, path.join(L, '.latest'));
  const r = {};
  const step = (label, args, opts) => {
    try {
      r[label] = snap(args, opts);
    } catch (e) {
      r[label] = { error: e.message.split('\n')[0] }; // keep what was measured; say what failed
      console.error(`bench: 1,000,000 files, ${label} failed: ${r[label].error}`);
    }
  };
  step('take (first)', ['take', L, '--quiet']);
  sleep(NEXT_SECOND_MS);
  step('take (no change)', ['take', L, '--quiet']);
  const names = JSON.parse(snap(['list', L, '--json']).stdout).map((s) => s.name);
  step('verify', ['verify', L, '--json'], { okCodes: [1] });
  step('verify --quick', ['verify', L, '--quick', '--json'], { okCodes: [1] });
  step('gc', ['gc', L, '--json']);
  rm(path.join(L, names.at(-1)));
  step('materialize', ['materialize', L, names.at(-1), '--json']);
  step('list', ['list', L, '--json']);
  step('stats', ['stats', L, '--json']);
  step('diff', ['diff', L, names[0], names.at(-1), '--json']);
  step('restore of a folder (10,000 files)', ['restore', L, names.at(-1), 'd0', '--to', out, '--quiet']);
  rm(L);
  rm(out);
  return r;
}

process.on('uncaughtException', (e) => {
  // A tool that fails mid-run: one line, not a stack; the work folder is kept for a look.
  console.error(`bench: ${e.message.split('\n').slice(0, 2).join(' ')}`);
  process.exit(1);
});
const o = parseArgs(process.argv.slice(2));
need('rsync', 'rsync');
if (!fs.existsSync(CLI)) {
  console.error('bench: build first (npx tsc -p .), or run it as npm run bench');
  process.exit(2);
}
if (!has('restic')) console.error('bench: restic not found: the restic comparisons are skipped (apt-get install -y restic)');
if (!hasGnuTime) console.error('bench: GNU time not found at /usr/bin/time: peak RSS is not measured (apt-get install -y time)');
for (const t of o.trees) if (!fs.statSync(t, { throwIfNoEntry: false })?.isDirectory()) (console.error(`bench: --tree ${t} is not a folder`), process.exit(2));
fs.mkdirSync(o.work, { recursive: true });
syncBefore(o.work);
const isTmpfs = fs.statfsSync(o.work).type === TMPFS_MAGIC;

const seedCheck = checkSeed(o.work);
if (seedCheck.difference) {
  console.error(`bench: bench/seed-rotate.sh no longer matches the reference script: ${seedCheck.difference}`);
  process.exit(1);
}
console.error(`bench: ${seedCheck.skipped ?? 'bench/seed-rotate.sh matches the reference script'}`);

const load = [loadAverage()];
const results = [];
const folders = [];
let mil;
/** Print and write what is measured so far. */
function publish(final) {
  const md = report({
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; load average ${load[0]} at the start, ${loadAverage()} at the end`,
    work: `${o.work} (${isTmpfs ? 'tmpfs' : 'disk'})`,
    runs: o.runs,
    results: results.filter(Boolean),
    folders,
    million: mil,
  });
  if (final) console.log(md);
  if (o.write) {
    writeInto(o.write, isTmpfs ? 'tmpfs' : 'disk', final ? md : `${md}\n\n(incomplete: the run was still going)`);
    console.error(`bench: wrote ${o.write}`);
  }
}
/** One dataset, its medians published after every run (a stopped run keeps its finished runs). */
function measure(set, base, pristine, meta, parts) {
  const at = results.length;
  results[at] = benchSet(set, base, pristine, meta, o, parts, (partial) => {
    results[at] = partial;
    publish(false);
  });
}
for (const set of o.sets.filter((s) => s !== 'one-folder')) {
  const count = SIZES[o.scale][set];
  const base = path.join(o.work, `${set}-${count}`);
  const { pristine, meta } = prepare(base, `the ${set} dataset (${count} files)`, (dir) => generate(dir, set, count));
  // tmpfs has no write-back: there, unwritten data costs nothing to anyone.
  measure(set, base, pristine, meta, { objectCheck: set === 'small', dirty: o.dirty && set === 'small' && !isTmpfs });
}
if (o.trees.length) {
  const base = path.join(o.work, `tree-${o.trees.map((t) => t.replace(/\W+/g, '_')).join('+')}`);
  const { pristine, meta } = prepare(base, `a copy of ${o.trees.join(' + ')}`, (dir) => copyTree(dir, o.trees));
  measure(`tree ${o.trees.join(' + ')}`, base, pristine, meta, { objectCheck: false, dirty: false });
}
if (o.sets.includes('one-folder')) {
  folders.push(oneFolder(SIZES[o.scale]['one-folder'], o));
  publish(false);
}
if (o.million) mil = million(o);
publish(true);


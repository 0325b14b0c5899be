#!/usr/bin/env node
// linksnap benchmark harness. See docs/benchmarks.md for what it measures and why.
//
//   npm run bench -- [--scale small|full] [--runs N] [--sets small,large,one-folder] [--work DIR]
//                    [--write docs/benchmarks.md] [--million]
//
// Sets: small files, large files, and one-folder (every file in a single folder: 150,000 at
// --scale small, 1,000,000 at --scale full; time and peak RSS of a first and a no-change take).
//
// Every timed case runs on the same machine in the same run as its baselines: the seed script
// (rotate_backup.sh --copy-first), rsync --link-dest, and the floors cp -a, cp -al and a walk.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generate, mutate } from './dataset.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const CLI = path.join(repo, 'dist/cli/main.js');
const SEED = path.resolve(repo, '../shared/reference/rotate_backup.sh');

function parseArgs(argv) {
  const o = { scale: 'small', runs: 3, sets: ['small', 'large'], work: path.join(repo, 'bench/.data'), write: undefined, million: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--scale') o.scale = v();
    else if (a === '--runs') o.runs = Number(v());
    else if (a === '--sets') o.sets = v().split(',').filter(Boolean);
    else if (a === '--work') o.work = path.resolve(v());
    else if (a === '--write') o.write = path.resolve(v());
    else if (a === '--million') o.million = true;
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 9).join('\n'));
      process.exit(0);
    } else {
      console.error(`bench: unknown option ${a}`);
      process.exit(2);
    }
  }
  if (!['small', 'full'].includes(o.scale)) throw new Error('--scale is small or full');
  return o;
}

const SIZES = {
  small: { small: 20_000, large: 12, 'one-folder': 150_000 },
  full: { small: 100_000, large: 200, 'one-folder': 1_000_000 },
};

function need(cmd, pkg) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`bench: needs ${cmd} (apt-get install ${pkg})`);
    process.exit(2);
  }
}

const hasGnuTime = fs.existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;

/** Run a command; returns seconds and peak RSS (KiB, via GNU time when available). */
function run(cmd, args, opts = {}) {
  const full = hasGnuTime ? ['/usr/bin/time', ['-f', '__RSS__%M', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full[1], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /__RSS__(\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 && !(opts.okCodes ?? []).includes(r.status)) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr ?? '').slice(-800)}`);
  }
  return { seconds, rssKiB: m ? Number(m[1]) : undefined, stdout: r.stdout, status: r.status };
}

const snap = (args, opts) => run(process.execPath, [CLI, ...args], opts);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const median = (xs) => {
  const s = xs.filter((x) => x !== undefined).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : undefined;
};
const du = (p) => Number(spawnSync('du', ['-s', '--block-size=1', p], { encoding: 'utf8' }).stdout.split('\t')[0]);
const rm = (p) => fs.rmSync(p, { recursive: true, force: true });

function catalogBytes(root) {
  let n = 0;
  for (const f of ['catalog.db', 'catalog.db-wal']) {
    try {
      n += fs.statSync(path.join(root, '.snap', f)).size;
    } catch {}
  }
  return n;
}

/**
 * The CLI with take's object check removed (the lstat of each linked inode against its object's
 * name), to measure what the check costs: a patched copy of dist/ in the work folder. Never used
 * for anything but this comparison.
 */
function uncheckedCli(work) {
  const copy = path.join(work, 'dist-unchecked');
  rm(copy);
  fs.cpSync(path.join(repo, 'dist'), copy, { recursive: true });
  fs.writeFileSync(path.join(work, 'package.json'), fs.readFileSync(path.join(repo, 'package.json')));
  rm(path.join(work, 'node_modules'));
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(work, 'node_modules')); // for a --work outside the repository
  const scan = path.join(copy, 'store/source-scan.js');
  const text = fs.readFileSync(scan, 'utf8');
  const check = /if \(!objectInodeHolds\(fs\.lstatSync\(dest, \{ bigint: true \}\), key, rd\.size, t\.owners\)\)/;
  if (!check.test(text)) return undefined; // the code moved: the comparison is skipped, and says so
  fs.writeFileSync(scan, text.replace(check, 'if (false)'));
  return path.join(copy, 'cli/main.js');
}

let helpText;
function hasCommand(name) {
  helpText ??= spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).stdout;
  return new RegExp(`^\\s+${name}\\b`, 'm').test(helpText);
}

function benchSet(set, count, o) {
  const base = path.join(o.work, `${set}-${count}`);
  const pristine = path.join(base, 'pristine');
  const marker = path.join(base, 'pristine.json');
  if (!fs.existsSync(marker)) {
    rm(base);
    process.stderr.write(`bench: generating ${set} dataset (${count} files)...\n`);
    const g = generate(pristine, set, count);
    fs.writeFileSync(marker, JSON.stringify({ files: g.files.length, bytes: g.bytes, list: g.files }));
  }
  const meta = JSON.parse(fs.readFileSync(marker, 'utf8'));
  const samples = {};
  const add = (k, v) => (samples[k] ??= []).push(v);
  const cmds = { verify: hasCommand('verify'), gc: hasCommand('gc'), materialize: hasCommand('materialize') };
  const unchecked = set === 'small' ? uncheckedCli(base) : undefined;
  if (set === 'small' && !unchecked) process.stderr.write('bench: cannot find the object check in dist/store/source-scan.js; its cost is not measured\n');

  for (let rep = 1; rep <= o.runs; rep++) {
    process.stderr.write(`bench: ${set} run ${rep}/${o.runs}\n`);
    const w = path.join(base, 'run');
    rm(w);
    fs.mkdirSync(w);
    const src = path.join(w, 'src');
    add('cp -a', run('cp', ['-a', pristine, src]).seconds);
    add('cp -al', run('cp', ['-al', src, path.join(w, 'linkcopy')]).seconds);
    rm(path.join(w, 'linkcopy'));
    add('walk (find -printf %s)', run('sh', ['-c', `find "${src}" -printf '%s\\n' > /dev/null`]).seconds);
    sleep(2100); // let the copy's ctimes leave linksnap's 2 s racy window, as a real tree's would

    const L = path.join(w, 'linksnap');
    const S = path.join(w, 'seed');
    const R = path.join(w, 'rsync');
    for (const r of [L, S, R]) fs.mkdirSync(r);
    fs.symlinkSync(src, path.join(L, '.latest'));
    fs.symlinkSync(src, path.join(S, '.latest'));

    let r = snap(['take', L, '--quiet']);
    add('linksnap first take', r.seconds);
    add('rss first take', r.rssKiB);
    const cat1 = catalogBytes(L);
    add('catalog after first take', cat1);
    add('seed first run', run(SEED, ['--copy-first', S]).seconds);
    add('rsync first', run('rsync', ['-a', '--delete', `${src}/`, `${R}/1/`]).seconds);

    sleep(1100); // the seed script names folders by the second
    r = snap(['take', L, '--quiet']);
    add('linksnap no-change take', r.seconds);
    add('rss no-change take', r.rssKiB);
    add('catalog growth per no-change take', catalogBytes(L) - cat1);
    if (unchecked) {
      // The same no-change take without the object check, and with it again (order effects).
      sleep(1100);
      add('linksnap no-change take (no object check)', run(process.execPath, [unchecked, 'take', L, '--quiet']).seconds);
      sleep(1100);
      add('linksnap no-change take (object check, again)', snap(['take', L, '--quiet']).seconds);
    }
    add('seed no-change run', run(SEED, ['--copy-first', S]).seconds);
    add('rsync no-change (--link-dest)', run('rsync', ['-a', '--delete', `--link-dest=${R}/1`, `${src}/`, `${R}/2/`]).seconds);

    mutate(src, meta.list, 7 + rep);
    sleep(2100);
    r = snap(['take', L, '--quiet']);
    add('linksnap take after 1% mutation', r.seconds);
    add('rss mutated take', r.rssKiB);
    add('seed run after mutation', run(SEED, ['--copy-first', S]).seconds);
    add('rsync after mutation (--link-dest)', run('rsync', ['-a', '--delete', `--link-dest=${R}/2`, `${src}/`, `${R}/3/`]).seconds);

    if (cmds.verify) {
      const v = snap(['verify', L, '--json'], { okCodes: [1] });
      add('linksnap verify (full)', v.seconds);
      add('rss verify', v.rssKiB);
      add('verify quick', snap(['verify', L, '--quick', '--json'], { okCodes: [1] }).seconds);
    }
    if (cmds.gc) add('linksnap gc', snap(['gc', L, '--json']).seconds);
    if (cmds.materialize) {
      const names = JSON.parse(snap(['list', L, '--json']).stdout).map((s) => s.name);
      const victim = names.at(-1);
      rm(path.join(L, victim));
      const m = snap(['materialize', L, victim, '--json']);
      add('linksnap materialize one snapshot', m.seconds);
      add('rss materialize', m.rssKiB);
    }
    add('disk linksnap (3 snapshots)', du(L));
    add('disk seed (3 snapshots)', du(S));
    add('disk rsync (3 snapshots)', du(R));
    add('store bytes', du(path.join(L, '.snap/objects')));
    rm(w);
  }
  const med = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  return { set, count, files: meta.files, bytes: meta.bytes, med };
}

/** Every file in one folder: a maildir, a camera dump. Time and peak RSS of the takes. */
function oneFolder(count, o) {
  const base = path.join(o.work, `one-folder-${count}`);
  const src = path.join(base, 'src');
  if (!fs.existsSync(path.join(base, 'ok'))) {
    rm(base);
    process.stderr.write(`bench: generating one folder of ${count.toLocaleString('en')} files...\n`);
    const dir = path.join(src, 'inbox');
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < count; i++) fs.writeFileSync(path.join(dir, `${1700000000 + i}.M${i}P1.host:2,S`), `message ${i}\n`);
    fs.writeFileSync(path.join(base, 'ok'), '');
    sleep(2100); // out of the racy window, as a real folder's files would be
  }
  const samples = {};
  const add = (k, v) => (samples[k] ??= []).push(v);
  for (let rep = 1; rep <= o.runs; rep++) {
    process.stderr.write(`bench: one-folder-${count} run ${rep}/${o.runs}\n`);
    const L = path.join(base, 'root');
    rm(L);
    fs.mkdirSync(L);
    fs.symlinkSync(src, path.join(L, '.latest'));
    for (const [label, args] of [
      ['first take', ['take', L, '--quiet']],
      ['no-change take', ['take', L, '--quiet']],
      ['verify --quick', ['verify', L, '--quick', '--json']],
    ]) {
      if (label === 'no-change take') sleep(1100);
      const r = snap(args, { okCodes: [1] });
      add(`${label} s`, r.seconds);
      add(`${label} rss`, r.rssKiB);
    }
    rm(L);
  }
  return { count, med: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)])) };
}

function millionRss(o) {
  const base = path.join(o.work, 'million');
  const src = path.join(base, 'src');
  if (!fs.existsSync(path.join(base, 'ok'))) {
    rm(base);
    process.stderr.write('bench: generating 1,000,000 tiny files...\n');
    for (let d = 0; d < 10_000; d++) {
      const dir = path.join(src, `d${Math.floor(d / 100)}`, `s${d % 100}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(dir, `f${i}`), `${d}:${i}`);
    }
    fs.writeFileSync(path.join(base, 'ok'), '');
  }
  const L = path.join(base, 'root');
  rm(L);
  fs.mkdirSync(L);
  fs.symlinkSync(src, path.join(L, '.latest'));
  const out = {};
  out['first take'] = snap(['take', L, '--quiet']);
  out['no-change take'] = snap(['take', L, '--quiet']);
  // The same with V8's old generation capped: shows the working set is bounded and the rest of
  // the uncapped RSS is garbage V8 had not collected yet.
  const capped = { env: { NODE_OPTIONS: '--max-old-space-size=128' } };
  out['no-change take (old space capped at 128 MB)'] = snap(['take', L, '--quiet'], capped);
  if (hasCommand('verify')) out['verify --quick'] = snap(['verify', L, '--quick', '--json'], { okCodes: [1] });
  if (hasCommand('gc')) out['gc'] = snap(['gc', L, '--json']);
  rm(L);
  return out;
}

const fmtS = (s) => (s === undefined ? 'n/a' : `${s.toFixed(2)} s`);
const fmtB = (b) => (b === undefined ? 'n/a' : b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);
const ratio = (a, b) => (a === undefined || b === undefined ? 'n/a' : (a / b).toFixed(2));

function report(o, results, million, folders) {
  const cmd = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  const lines = [];
  lines.push(`Command: \`${cmd}\``, '');
  lines.push(`Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}. Medians of ${o.runs} runs.`, '');
  const targets = [];
  for (const r of results) {
    const m = r.med;
    lines.push(`### ${r.set} files: ${r.files.toLocaleString('en')} files, ${fmtB(r.bytes)}`, '');
    lines.push('| case | linksnap | seed script | rsync --link-dest | floor: cp -a | floor: cp -al | floor: walk |', '|---|---|---|---|---|---|---|');
    lines.push(`| first snapshot | ${fmtS(m['linksnap first take'])} | ${fmtS(m['seed first run'])} | ${fmtS(m['rsync first'])} | ${fmtS(m['cp -a'])} | | |`);
    lines.push(`| no change | ${fmtS(m['linksnap no-change take'])} | ${fmtS(m['seed no-change run'])} | ${fmtS(m['rsync no-change (--link-dest)'])} | | ${fmtS(m['cp -al'])} | ${fmtS(m['walk (find -printf %s)'])} |`);
    lines.push(`| after 1% mutation | ${fmtS(m['linksnap take after 1% mutation'])} | ${fmtS(m['seed run after mutation'])} | ${fmtS(m['rsync after mutation (--link-dest)'])} | | | |`);
    lines.push(`| verify (full read) | ${fmtS(m['linksnap verify (full)'])} | | | | | |`);
    lines.push(`| verify --quick | ${fmtS(m['verify quick'])} | | | | | |`);
    lines.push(`| gc | ${fmtS(m['linksnap gc'])} | | | | | |`);
    lines.push(`| materialize one snapshot | ${fmtS(m['linksnap materialize one snapshot'])} | | | | ${fmtS(m['cp -al'])} | |`);
    lines.push(`| disk used, 3 snapshots | ${fmtB(m['disk linksnap (3 snapshots)'])} | ${fmtB(m['disk seed (3 snapshots)'])} | ${fmtB(m['disk rsync (3 snapshots)'])} | | | |`);
    const rss = [m['rss first take'], m['rss no-change take'], m['rss mutated take'], m['rss verify'], m['rss materialize']].filter((x) => x !== undefined);
    lines.push(`| peak RSS (max of commands) | ${rss.length ? fmtB(Math.max(...rss) * 1024) : 'n/a'} | | | | | |`, '');
    const verifyRate = m['linksnap verify (full)'] ? m['store bytes'] / m['linksnap verify (full)'] : undefined;
    if (m['linksnap no-change take (no object check)'] !== undefined) {
      const withCheck = median([m['linksnap no-change take'], m['linksnap no-change take (object check, again)']].filter((x) => x !== undefined));
      const without = m['linksnap no-change take (no object check)'];
      lines.push(`The object check (one \`lstat\` of each linked inode against its object's name): no-change take ${fmtS(withCheck)} with it, ${fmtS(without)} without (a patched copy of dist/), ${(((withCheck - without) / withCheck) * 100).toFixed(1)} % of the take.`, '');
      targets.push(['cost of the object check, no-change take, small files', '< 5 % of the take', `${(((withCheck - without) / withCheck) * 100).toFixed(1)} %`, (x) => parseFloat(x) < 5]);
    }
    if (r.set === 'small') {
      targets.push(['take after the 1% mutation, small files', '≤ 0.7 × seed', ratio(m['linksnap take after 1% mutation'], m['seed run after mutation']), (x) => x <= 0.7]);
      targets.push(['no-change take, small files', '≤ 1.0 × cp -al', ratio(m['linksnap no-change take'], m['cp -al']), (x) => x <= 1.0]);
      targets.push(['catalog growth per no-change take', '≤ 1% of first catalog', m['catalog after first take'] ? `${((100 * m['catalog growth per no-change take']) / m['catalog after first take']).toFixed(3)} %` : 'n/a', (x) => parseFloat(x) <= 1]);
    }
    targets.push([`first take, ${r.set} files`, '≤ 1.3 × cp -a', ratio(m['linksnap first take'], m['cp -a']), (x) => x <= 1.3]);
    if (r.set === 'large') targets.push(['verify (full read), large files', '≥ 1 GB/s', verifyRate ? `${(verifyRate / 1e9).toFixed(2)} GB/s` : 'n/a', (x) => parseFloat(x) >= 1]);
  }
  for (const f of folders) {
    const m = f.med;
    lines.push(`### one folder of ${f.count.toLocaleString('en')} files`, '', '| command | time | peak RSS |', '|---|---|---|');
    for (const label of ['first take', 'no-change take', 'verify --quick']) lines.push(`| ${label} | ${fmtS(m[`${label} s`])} | ${fmtB((m[`${label} rss`] ?? 0) * 1024)} |`);
    lines.push('');
    const peak = Math.max(...['first take', 'no-change take', 'verify --quick'].map((l) => m[`${l} rss`] ?? 0));
    targets.push([`peak RSS, one folder of ${f.count.toLocaleString('en')} files`, '≤ 300 MB', `${((peak * 1024) / 1e6).toFixed(0)} MB`, (x) => parseFloat(x) <= 300]);
  }
  if (million) {
    const peak = Math.max(...Object.values(million).map((x) => x.rssKiB ?? 0));
    lines.push('### 1,000,000 files (peak RSS)', '', '| command | time | peak RSS |', '|---|---|---|');
    for (const [k, v] of Object.entries(million)) lines.push(`| ${k} | ${fmtS(v.seconds)} | ${fmtB((v.rssKiB ?? 0) * 1024)} |`);
    lines.push('');
    targets.push(['peak RSS of any command at 1,000,000 files', '≤ 300 MB', `${((peak * 1024) / 1e6).toFixed(0)} MB`, (x) => parseFloat(x) <= 300]);
  }
  const t = ['| target | goal | measured | met? |', '|---|---|---|---|'];
  for (const [name, goal, value, ok] of targets) t.push(`| ${name} | ${goal} | ${value} | ${value === 'n/a' ? 'n/a' : ok(value) ? 'yes' : '**no**'} |`);
  return ['## Targets', '', ...t, '', '## Measurements', '', ...lines].join('\n');
}

const o = parseArgs(process.argv.slice(2));
need('rsync', 'rsync');
if (!fs.existsSync(CLI)) {
  console.error('bench: build first (npm run build)');
  process.exit(2);
}
fs.mkdirSync(o.work, { recursive: true });
const results = o.sets.filter((s) => s !== 'one-folder').map((s) => benchSet(s, SIZES[o.scale][s], o));
const folders = o.sets.includes('one-folder') ? [oneFolder(SIZES[o.scale]['one-folder'], o)] : [];
let million;
if (o.million) {
  try {
    million = millionRss(o);
  } catch (e) {
    // Keep what was measured; say what failed instead of losing the whole run.
    console.error(`bench: the 1,000,000-file run failed: ${e.message.split('\n')[0]}`);
    million = { error: { seconds: undefined, rssKiB: undefined, error: e.message.split('\n')[0] } };
  }
}
const md = report(o, results, million, folders);
console.log(md);
if (o.write) {
  const doc = fs.readFileSync(o.write, 'utf8');
  const start = doc.indexOf('<!-- bench:start -->');
  const end = doc.indexOf('<!-- bench:end -->');
  const next = start >= 0 && end > start ? doc.slice(0, start + '<!-- bench:start -->'.length) + '\n' + md + '\n' + doc.slice(end) : doc + '\n' + md + '\n';
  fs.writeFileSync(o.write, next);
  console.error(`bench: wrote ${o.write}`);
}

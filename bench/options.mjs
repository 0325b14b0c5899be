// Command-line options of bench/bench.mjs, and its --help text.
import path from 'node:path';
import { repo } from './tools.mjs';

export const HELP = `usage: npm run bench -- [options]     (or: node bench/bench.mjs [options] after a build)

Times linksnap beside the seed script (bench/seed-rotate.sh), rsync --link-dest, restic and the
floors (cp -a, cp -al, a find walk), in one run on the same data; prints the targets and tables.

  --scale small|full   dataset sizes (default small: 20,000 small files, 12 large, one folder of
                       150,000; full: 100,000 small files, 200 large (~2 GiB), one folder of 1,000,000)
  --sets LIST          comma-separated: small, large, one-folder (default small,large; '' for none)
  --tree DIR[,DIR...]  also benchmark a copy of these real folders (e.g. /usr/share,/usr/include)
  --runs N             repetitions; figures are medians (default 3)
  --work DIR           where datasets and roots live (default bench/.data, the real disk);
                       point it at a tmpfs mounted with nr_inodes=0 to take the disk out
  --million            also time every command at 1,000,000 files, with peak RSS
  --no-dirty           skip the take beside 2 GB of another process's unwritten data
  --write FILE         replace the block between this --work kind's markers in FILE
                       (<!-- bench:disk:start/end --> or <!-- bench:tmpfs:start/end -->)
  -h, --help           this text

Needs rsync. Optional: restic (restic comparisons), GNU time (/usr/bin/time, peak RSS).
Details: docs/benchmarks.md`;

export function parseArgs(argv) {
  const o = { scale: 'small', runs: 3, sets: ['small', 'large'], trees: [], work: path.join(repo, 'bench/.data'), write: undefined, million: false, dirty: true };
  const fail = (msg) => {
    console.error(`bench: ${msg} (see --help)`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => (i + 1 < argv.length ? argv[++i] : fail(`${a} needs a value`));
    if (a === '--scale') o.scale = v();
    else if (a === '--runs') o.runs = Number(v());
    else if (a === '--sets') o.sets = v().split(',').filter(Boolean);
    else if (a === '--tree') o.trees = v().split(',').filter(Boolean).map((d) => path.resolve(d));
    else if (a === '--work') o.work = path.resolve(v());
    else if (a === '--write') o.write = path.resolve(v());
    else if (a === '--million') o.million = true;
    else if (a === '--no-dirty') o.dirty = false;
    else if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    } else fail(`unknown option ${a}`);
  }
  if (!['small', 'full'].includes(o.scale)) fail('--scale is small or full');
  if (!Number.isInteger(o.runs) || o.runs < 1) fail('--runs is a positive whole number');
  const unknown = o.sets.filter((s) => !['small', 'large', 'one-folder'].includes(s));
  if (unknown.length) fail(`unknown set ${unknown.join(',')}: small, large or one-folder`);
  return o;
}

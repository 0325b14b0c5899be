// The benchmark's Markdown: the targets (each with its measured ratio) and one table per dataset.
import fs from 'node:fs';

const fmtS = (s) => (s === undefined ? '' : `${s.toFixed(2)} s`);
const fmtB = (b) => (b === undefined ? '' : b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);
const mb = (kib) => (kib === undefined ? undefined : (kib * 1024) / 1e6);
const RSS_LIMIT_MB = 300;
const mean2 = (a, b) => (b === undefined ? a : (a + b) / 2);

/** A target row: the measured value as text and whether it meets the goal (undefined: not measured). */
function ratioTarget(name, goal, a, b, limit, extra = '') {
  if (a === undefined || b === undefined) return [name, goal, 'n/a', undefined];
  const x = a / b;
  return [name, goal, `${x.toFixed(2)}${extra}`, x <= limit];
}

function setTargets(r) {
  const m = r.med;
  const s = r.set;
  const t = [
    ratioTarget(`no-change take vs the seed script, ${s}`, '≤ 0.8 ×', m['linksnap no-change'], m['seed no-change'], 0.8),
    ratioTarget(`no-change take vs \`cp -al\`, ${s}`, '≤ 1.2 ×', m['linksnap no-change'], m['cp -al'], 1.2),
    ratioTarget(`1 %-change take vs the seed script, ${s}`, '≤ 0.8 ×', m['linksnap mutated'], m['seed mutated'], 0.8),
  ];
  const [lo, hi] = r.cpSpread;
  const first = m['linksnap first'];
  t.push(ratioTarget(`first take vs \`cp -a\`, ${s}`, '≤ 1.3 ×', first, m['cp -a'], 1.3, first ? ` (${(first / hi).toFixed(2)}–${(first / lo).toFixed(2)} over cp -a's ${lo.toFixed(2)}–${hi.toFixed(2)} s)` : ''));
  // A take's first snapshot is on disk when it exits; a plain cp -a is not. The same copy made
  // durable (its sync -f timed right after it) is the floor for the promise a take keeps.
  if (m['cp -a sync'] !== undefined) {
    t.push(ratioTarget(`first take vs \`cp -a\` + \`sync -f\` (the copy made durable), ${s}`, '≤ 1.3 ×', first, m['cp -a'] + m['cp -a sync'], 1.3));
  }
  t.push(ratioTarget(`\`verify --quick\` vs a \`find -printf\` walk of the root, ${s}`, '≤ 2 ×', m['linksnap verify --quick'], m['walk root'], 2));
  t.push(ratioTarget(`\`verify --quick\` vs \`restic check\`, ${s}`, '≤ 1.0 ×', m['linksnap verify --quick'], m['restic check'], 1.0));
  t.push(ratioTarget(`\`verify\` vs \`restic check --read-data\`, ${s}`, '≤ 1.0 ×', m['linksnap verify'], m['restic check --read-data'], 1.0));
  if (m['linksnap no-change beside dirty'] !== undefined) {
    t.push(ratioTarget(`no-change take beside 2 GB of another process's unwritten data vs alone, ${s}`, '≤ 1.2 ×', m['linksnap no-change beside dirty'], m['linksnap no-change alone'], 1.2, ` (${fmtB(m['dirty KiB at take start'] * 1024)} dirty at its start)`));
  }
  if (m['catalog after first take']) {
    const growth = (100 * m['catalog growth per no-change take']) / m['catalog after first take'];
    t.push([`catalog growth per no-change take, ${s}`, '≤ 1 % of the first catalog', `${growth.toFixed(3)} %`, growth <= 1]);
  }
  if (m['linksnap no-change (no object check)'] !== undefined) {
    const withCheck = mean2(m['linksnap no-change'], m['linksnap no-change (object check, again)']);
    const cost = (100 * (withCheck - m['linksnap no-change (no object check)'])) / withCheck;
    t.push([`cost of the object check, no-change take, ${s}`, '< 5 % of the take', `${cost.toFixed(1)} %`, cost < 5]);
  }
  if (m['linksnap no-change (fs fallback)'] !== undefined) {
    t.push(ratioTarget(`no-change take with the native helper vs its fs fallback, ${s}`, '< 1.0 ×', m['linksnap no-change'], m['linksnap no-change (fs fallback)'], 0.999));
  }
  if (m['linksnap verify --quick (fs fallback)'] !== undefined) {
    t.push(ratioTarget(`\`verify --quick\` with the native helper vs its fs fallback, ${s}`, '< 1.0 ×', m['linksnap verify --quick'], m['linksnap verify --quick (fs fallback)'], 0.999));
  }
  if (s === 'large' && m['linksnap verify']) {
    const rate = m['store bytes'] / m['linksnap verify'] / 1e9;
    t.push(['`verify` (full read), large files', '≥ 1 GB/s', `${rate.toFixed(2)} GB/s`, rate >= 1]);
  }
  return t;
}

function setTable(r, runs) {
  const m = r.med;
  const rss = Object.entries(m).filter(([k, v]) => k.startsWith('rss ') && v !== undefined);
  const peak = rss.length ? rss.reduce((a, b) => (b[1] > a[1] ? b : a)) : undefined;
  const [lo, hi] = r.cpSpread;
  const row = (...cells) => `| ${cells.join(' | ')} |`;
  return [
    `#### ${r.set}: ${r.files.toLocaleString('en')} files, ${fmtB(r.bytes)}${r.runs < runs ? ` (${r.runs} of ${runs} runs so far)` : ''}`,
    '',
    row('case', 'linksnap', 'seed script', 'rsync --link-dest', 'restic', 'floor: cp -a', 'floor: cp -al', 'floor: walk'),
    row('---', '---', '---', '---', '---', '---', '---', '---'),
    row('first snapshot', fmtS(m['linksnap first']), fmtS(m['seed first']), fmtS(m['rsync first']), fmtS(m['restic first']), `${fmtS(m['cp -a'])} (${lo.toFixed(2)}–${hi.toFixed(2)})${m['cp -a sync'] !== undefined ? `, + ${fmtS(m['cp -a sync'])} sync` : ''}`, '', ''),
    row('no change', fmtS(m['linksnap no-change']), fmtS(m['seed no-change']), fmtS(m['rsync no-change']), fmtS(m['restic no-change']), '', fmtS(m['cp -al']), `${fmtS(m['walk source'])} (source)`),
    ...(m['linksnap no-change (fs fallback)'] !== undefined
      ? [row('no change, fs fallback (LINKSNAP_NATIVE=0)', fmtS(m['linksnap no-change (fs fallback)']), '', '', '', '', '', '')]
      : []),
    row('after the 1 % mutation', fmtS(m['linksnap mutated']), fmtS(m['seed mutated']), fmtS(m['rsync mutated']), fmtS(m['restic mutated']), '', '', ''),
    ...(m['linksnap no-change alone'] !== undefined
      ? [row('no change, alone / beside 2 GB unwritten', `${fmtS(m['linksnap no-change alone'])} / ${fmtS(m['linksnap no-change beside dirty'])}`, '', '', '', '', '', '')]
      : []),
    row('verify --quick / restic check', fmtS(m['linksnap verify --quick']), '', '', fmtS(m['restic check']), '', '', `${fmtS(m['walk root'])} (root)`),
    ...(m['linksnap verify --quick (fs fallback)'] !== undefined
      ? [row('verify --quick, fs fallback (LINKSNAP_NATIVE=0)', fmtS(m['linksnap verify --quick (fs fallback)']), '', '', '', '', '', '')]
      : []),
    row('verify (full read) / check --read-data', fmtS(m['linksnap verify']), '', '', fmtS(m['restic check --read-data']), '', '', ''),
    row('gc', fmtS(m['linksnap gc']), '', '', '', '', '', ''),
    row('materialize one snapshot', fmtS(m['linksnap materialize']), '', '', '', '', fmtS(m['cp -al']), ''),
    row('disk used, 3 snapshots', fmtB(m['disk linksnap']), fmtB(m['disk seed']), fmtB(m['disk rsync']), fmtB(m['disk restic']), '', '', ''),
    row('peak RSS (max of commands)', peak ? `${fmtB(peak[1] * 1024)} (${peak[0].slice(4)})` : 'n/a', '', '', '', '', '', ''),
    '',
    ...r.notes.map((n) => `Note: ${n}.`),
    ...(r.notes.length ? [''] : []),
  ];
}

/** The whole block: targets, then the tables. */
export function report({ command, machine, work, runs, results, folders, million }) {
  const targets = results.flatMap(setTargets);
  const lines = [];
  for (const r of results) lines.push(...setTable(r, runs));
  for (const f of folders) {
    const m = f.med;
    const labels = ['first take', 'no-change take', 'verify --quick'];
    lines.push(`#### one folder of ${f.count.toLocaleString('en')} files`, '', '| command | time | peak RSS |', '|---|---|---|');
    for (const l of labels) lines.push(`| ${l} | ${fmtS(m[`${l} s`])} | ${fmtB((m[`${l} rss`] ?? 0) * 1024)} |`);
    lines.push('');
    const peak = Math.max(...labels.map((l) => mb(m[`${l} rss`]) ?? 0));
    targets.push([`peak RSS, one folder of ${f.count.toLocaleString('en')} files`, `≤ ${RSS_LIMIT_MB} MB`, `${peak.toFixed(0)} MB`, peak <= RSS_LIMIT_MB]);
  }
  if (million) {
    lines.push('#### 1,000,000 files: every command', '', '| command | time | peak RSS | ≤ 300 MB? |', '|---|---|---|---|');
    for (const [k, v] of Object.entries(million)) {
      const x = mb(v.rssKiB);
      lines.push(v.error ? `| ${k} | failed: ${v.error} | | |` : `| ${k} | ${fmtS(v.seconds)} | ${x === undefined ? 'n/a' : `${x.toFixed(0)} MB`} | ${x === undefined ? 'n/a' : x <= RSS_LIMIT_MB ? 'yes' : '**no**'} |`);
    }
    lines.push('');
    const measured = Object.entries(million).filter(([, v]) => v.rssKiB !== undefined);
    const [worst, w] = measured.reduce((a, b) => (b[1].rssKiB > a[1].rssKiB ? b : a), ['', { rssKiB: 0 }]);
    const failed = Object.keys(million).filter((k) => million[k].error);
    targets.push([
      'peak RSS at 1,000,000 files, every command',
      `≤ ${RSS_LIMIT_MB} MB`,
      measured.length ? `${mb(w.rssKiB).toFixed(0)} MB (${worst})${failed.length ? `; failed: ${failed.join(', ')}` : ''}` : 'n/a',
      measured.length && !failed.length ? mb(w.rssKiB) <= RSS_LIMIT_MB : undefined,
    ]);
  }
  const t = ['| target | goal | measured | met? |', '|---|---|---|---|'];
  for (const [name, goal, value, ok] of targets) t.push(`| ${name} | ${goal} | ${value} | ${ok === undefined ? 'n/a' : ok ? 'yes' : '**no**'} |`);
  return [`Command: \`${command}\``, '', `Machine: ${machine}. Work folder: ${work}. Medians of ${runs} run${runs > 1 ? 's' : ''}.`, '', '#### Targets', '', ...t, '', ...lines].join('\n').trimEnd();
}

/** Replace the block between <!-- bench:KIND:start --> and <!-- bench:KIND:end --> (appended if absent). */
export function writeInto(file, kind, md) {
  const doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  // Markers count only on a line of their own (the page may quote them in its text).
  const start = `\n<!-- bench:${kind}:start -->\n`;
  const end = `\n<!-- bench:${kind}:end -->\n`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end, i);
  const next = i >= 0 && j > i ? `${doc.slice(0, i + start.length)}${md}${doc.slice(j)}` : `${doc.trimEnd()}\n${start}${md}${end}`;
  fs.writeFileSync(file, next);
}

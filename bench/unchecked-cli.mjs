// The CLI with take's object check removed (the lstat of each linked inode against its object's
// name), to measure what the check costs: a patched copy of dist/ in the work folder. Never used
// for anything but this comparison.
import fs from 'node:fs';
import path from 'node:path';
import { repo, rm } from './tools.mjs';

/** The patched CLI's main.js, or undefined when the check moved (the comparison is then skipped). */
export function uncheckedCli(work) {
  const copy = path.join(work, 'dist-unchecked');
  rm(copy);
  fs.cpSync(path.join(repo, 'dist'), copy, { recursive: true });
  fs.writeFileSync(path.join(work, 'package.json'), fs.readFileSync(path.join(repo, 'package.json')));
  rm(path.join(work, 'node_modules'));
  fs.symlinkSync(path.join(repo, 'node_modules'), path.join(work, 'node_modules')); // for a --work outside the repository
  // The native helper, where dist-unchecked/util/fsat.js looks for it: else the patched CLI would
  // run on the fs fallback and the comparison would measure that instead of the check.
  rm(path.join(work, 'native'));
  fs.symlinkSync(path.join(repo, 'native'), path.join(work, 'native'));
  const scan = path.join(copy, 'store/source-scan.js');
  const text = fs.readFileSync(scan, 'utf8');
  // The lstat of the linked inode and the test on it (and on its attributes with --xattrs).
  const check = /const st = lstatAt\(folders\.stage, name\);\s*if \(typeof st === 'string'\)\s*return st;\s*if \(!objectInodeHolds\(st, key, rd\.size, t\.owners\)[^\n]*\{/;
  if (!check.test(text)) return undefined;
  fs.writeFileSync(scan, text.replace(check, 'if (false) {'));
  return path.join(copy, 'cli/main.js');
}

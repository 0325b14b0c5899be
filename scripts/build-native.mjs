#!/usr/bin/env node
// Build linksnap's optional native helper (native/: the *at() system calls Node lacks;
// docs/decisions.md, "Native code") with node-gyp, from source, as better-sqlite3 is built.
// Run by `npm ci`/`npm install` (the package's install script). A failed build is not an
// error: it says so in one line and linksnap uses its TypeScript fallback (src/util/fsat.ts),
// which passes the same tests, only slower.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// npm names its own node-gyp in npm_config_node_gyp for install scripts; else one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const r = spawnSync(cmd, [...args, 'rebuild', '--release', '--directory', path.join(repo, 'native')], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (r.status !== 0) {
  const why = r.error ? r.error.message : (r.stderr.trim().split('\n').filter((l) => /error/i.test(l)).pop() ?? `exit ${r.status}`);
  console.error(`linksnap: the native file-system helper was not built (${why}); linksnap works without it, more slowly`);
}

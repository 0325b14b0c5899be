#!/usr/bin/env node
// Build linksnap's optional native helper (native/: the *at() system calls Node lacks;
// docs/decisions.md, "Native code") with node-gyp, from source, as better-sqlite3 is built.
// Run by `npm ci`/`npm install` (the package's install script). A failed build is not an
// error: it says so in one line and linksnap uses its TypeScript fallback (src/util/fsat.ts),
// which passes the same tests, only slower.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// npm names its own node-gyp in npm_config_node_gyp for install scripts; run by hand, the one
// npm ships beside this Node, else one on PATH.
const bundled = path.join(path.dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
const gyp = process.env.npm_config_node_gyp ?? (fs.existsSync(bundled) ? bundled : undefined);
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
// Build against this Node's own headers (npm's config names them for install scripts; by hand,
// those installed beside it), never headers downloaded at build time.
const prefix = path.resolve(path.dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir ?? (fs.existsSync(path.join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
const r = spawnSync(cmd, [...args, 'rebuild', '--release', '--directory', path.join(repo, 'native'), ...(nodedir ? [`--nodedir=${nodedir}`] : [])], {
  stdio: ['ignore', 'ignore', 'pipe'],
  encoding: 'utf8',
});
if (r.status !== 0) {
  const lines = r.stderr.trim().split('\n');
  const why = r.error ? r.error.message : (lines.find((l) => /ERR! stack Error:|error:/.test(l)) ?? `exit ${r.status}`);
  console.error(`linksnap: the native file-system helper was not built (${why}); linksnap works without it, more slowly`);
}

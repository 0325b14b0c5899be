#!/usr/bin/env node
// Regenerates the per-command reference in docs/cli.md from the CLI's own --help, so the docs
// cannot drift from the code. `node scripts/gen-cli-doc.mjs` rewrites the file;
// `--check` exits 1 when it is stale (test/cli/cli-doc.test.ts runs that).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist/cli/main.js');
const doc = path.join(repo, 'docs/cli.md');
const help = (args) => spawnSync(process.execPath, [cli, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } }).stdout.trimEnd();

const top = help([]);
const commands = [...top.matchAll(/^  (\w+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
let out = '```\n$ snap --help\n' + top + '\n```\n';
for (const c of commands) out += `\n### snap ${c}\n\n\`\`\`\n$ snap ${c} --help\n${help([c])}\n\`\`\`\n`;

const text = fs.readFileSync(doc, 'utf8');
const start = text.indexOf('<!-- help:start -->');
const end = text.indexOf('<!-- help:end -->');
if (start < 0 || end < start) throw new Error('docs/cli.md lacks the help markers');
const next = text.slice(0, start + '<!-- help:start -->'.length) + '\n' + out + text.slice(end);
if (process.argv.includes('--check')) {
  if (next !== text) {
    console.error('docs/cli.md is out of date: run `node scripts/gen-cli-doc.mjs`');
    process.exit(1);
  }
} else fs.writeFileSync(doc, next);

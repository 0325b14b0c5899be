#!/usr/bin/env node
// The layering rules of src/ (docs/design.md, "Code layout"), checked over the import
// statements: which folder may import which, no import circles, and no file of src/ops
// importing another command's entry file. `node scripts/layers.mjs` prints the violations and
// exits 1 when there are any; test/architecture/layers.test.ts runs it in `npm test`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What each part of src/ may import besides itself. `errors` is src/errors.ts. */
export const ALLOWED = {
  errors: [],
  util: ['errors'],
  model: ['util', 'errors'],
  store: ['model', 'util', 'errors'],
  catalog: ['model', 'util', 'errors'],
  replica: ['store', 'model', 'util', 'errors'],
  ops: ['store', 'catalog', 'replica', 'model', 'util', 'errors'],
  cli: ['ops', 'store', 'catalog', 'replica', 'model', 'util', 'errors'],
  api: ['ops', 'store', 'catalog', 'replica', 'model', 'util', 'errors'],
};

/** The part of src/ a file belongs to: its first folder, or errors / api for the two top files. */
export function partOf(rel) {
  if (rel === 'errors.ts') return 'errors';
  if (rel === 'index.ts') return 'api';
  return rel.split('/')[0];
}

/** The command family of a file under ops/ (take, verify, ..., shared), else undefined. */
export function familyOf(rel) {
  const parts = rel.split('/');
  return parts[0] === 'ops' ? parts[1] : undefined;
}

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Relative imports of one file's text, as paths relative to src/ (with .ts). */
export function importsOf(rel, text) {
  const out = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec)).replace(/\.js$/, '.ts');
    out.push(target);
  }
  return out;
}

/** Strongly connected components with more than one file, or a file importing itself. */
export function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/**
 * Every violation in `files` (a Map of path relative to src/ → source text), as one line each.
 * A command's entry file under ops/ has the name of its CLI file (cli/commands/<name>.ts: one
 * file per command), e.g. ops/take/take.ts for cli/commands/take.ts.
 */
export function checkLayers(files) {
  const graph = new Map();
  for (const [rel, text] of files) graph.set(rel, importsOf(rel, text));
  const problems = [];
  const commandNames = new Set([...files.keys()].filter((f) => f.startsWith('cli/commands/')).map((f) => path.posix.basename(f, '.ts')));
  const commands = new Set([...files.keys()].filter((f) => partOf(f) === 'ops' && commandNames.has(path.posix.basename(f, '.ts'))));
  for (const [rel, deps] of graph) {
    const from = partOf(rel);
    for (const d of deps) {
      if (!files.has(d)) {
        problems.push(`${rel}: imports ${d}, which does not exist`);
        continue;
      }
      const to = partOf(d);
      if (to !== from && !(ALLOWED[from] ?? []).includes(to)) problems.push(`${rel}: ${from} may not import ${to} (${d})`);
      if (from === 'ops' && commands.has(d)) problems.push(`${rel}: imports the command file ${d}; move what it needs into a library file`);
      if (from === 'ops' && familyOf(rel) === 'shared' && familyOf(d) !== 'shared' && to === 'ops') problems.push(`${rel}: ops/shared may not import ops/${familyOf(d)} (${d})`);
    }
  }
  for (const c of cycles(graph)) problems.push(`import circle: ${c.join(' → ')}`);
  // Families may use each other's library files, but never in a circle.
  const families = new Map();
  for (const [rel, deps] of graph) {
    const f = familyOf(rel);
    if (!f) continue;
    const set = families.get(f) ?? new Set();
    for (const d of deps) if (familyOf(d) && familyOf(d) !== f) set.add(familyOf(d));
    families.set(f, set);
  }
  for (const c of cycles(new Map([...families].map(([k, v]) => [k, [...v]])))) problems.push(`circle between ops families: ${c.join(' → ')}`);
  return problems;
}

export function readSources(srcDir) {
  const files = new Map();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) files.set(path.relative(srcDir, p).split(path.sep).join('/'), fs.readFileSync(p, 'utf8'));
    }
  };
  walk(srcDir);
  return files;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
  const problems = checkLayers(readSources(src));
  for (const p of problems) console.error(p);
  process.exit(problems.length ? 1 : 0);
}

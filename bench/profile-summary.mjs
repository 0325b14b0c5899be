#!/usr/bin/env node
// Self time per function in V8 CPU profiles, one block per profile (a take writes one per
// thread: the main thread and each worker). docs/benchmarks.md, "Where the time goes now":
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/cli/main.js take <root> --quiet
//   node bench/profile-summary.mjs /tmp/prof/*.cpuprofile [--top N]
import fs from 'node:fs';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args.splice(topAt, 2)[1]) : 25;
if (args.length === 0) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile>... [--top N]');
  process.exit(2);
}
for (const file of args) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const perNode = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    perNode.set(id, (perNode.get(id) ?? 0) + dt);
    total += dt;
  });
  const perFunction = new Map();
  for (const [id, us] of perNode) {
    const cf = byId.get(id).callFrame;
    const where = cf.url ? ` ${cf.url.replace(/.*\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber}` : '';
    const key = `${cf.functionName || '(anonymous)'}${where}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  }
  console.log(`== ${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  for (const [key, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}

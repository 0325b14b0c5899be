#!/usr/bin/env node
// The cost of encryption on `snap push`: a plain and an encrypted first push of the same
// backup root, in the same run, against the same local S3 server (s3rver in this process).
//
//   npx tsc -p . && node bench/replica-push.mjs [--files 100000] [--runs 1] [--work DIR]
//
// The set is bench/dataset.mjs `generate(dir, 'small', files)`. Each run pushes to two fresh
// prefixes, plain first then encrypted, then the other way round on the next run; the report is
// the median of each and their ratio. The encrypted push pays its real scrypt (2^17) once.
// With GNU time installed, the pushing process's CPU time (user + system) is reported too: on a
// shared machine it is steadier than the wall-clock time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { generate } from './dataset.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(here, '..', 'dist', 'cli', 'main.js');

function parseArgs(argv) {
  const o = { files: 100_000, runs: 1, work: path.join(os.tmpdir(), 'linksnap-bench-replica') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--files') o.files = Number(argv[++i]);
    else if (a === '--runs') o.runs = Number(argv[++i]);
    else if (a === '--work') o.work = path.resolve(argv[++i]);
    else {
      console.error(`replica-push: unknown option ${a}`);
      process.exit(2);
    }
  }
  return o;
}

/**
 * s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 no longer
 * has: map it to AES-128-CTR in this process (as test/helpers/s3-server.ts does), so listings
 * of more than 1,000 blobs page as on a real server.
 */
function patchS3rverContinuationTokens() {
  const c = require('node:crypto');
  try {
    c.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return;
  } catch (e) {
    if (!/unsupported|invalid/i.test(String(e?.message))) throw e;
  }
  const wide = (b) => Buffer.concat([b, b]);
  const enc = c.createCipheriv.bind(c);
  const dec = c.createDecipheriv.bind(c);
  c.createCipheriv = (alg, key, iv, o) => (alg === 'des' ? enc('aes-128-ctr', wide(key), wide(iv)) : enc(alg, key, iv, o));
  c.createDecipheriv = (alg, key, iv, o) => (alg === 'des' ? dec('aes-128-ctr', wide(key), wide(iv)) : dec(alg, key, iv, o));
}

async function startServer(dir) {
  patchS3rverContinuationTokens();
  const S3rver = require('s3rver');
  const srv = new S3rver({ directory: dir, silent: true, configureBuckets: [{ name: 'bench', configs: [] }] });
  await srv.configureBuckets();
  const server = http.createServer(srv.callback());
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => (server.closeAllConnections(), server.close(r))) };
}

const hasGnuTime = fs.existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%U', 'true']).status === 0;

function run(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const cpuFile = path.join(os.tmpdir(), `linksnap-bench-cpu-${process.pid}`);
    const cmd = hasGnuTime ? ['/usr/bin/time', ['-o', cpuFile, '-f', '%U %S', process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
    const child = spawn(cmd[0], cmd[1], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`snap ${args.join(' ')} exited ${code}`));
      let cpu;
      if (hasGnuTime) {
        const [u, s] = fs.readFileSync(cpuFile, 'utf8').trim().split(/\s+/).map(Number);
        cpu = u + s;
        fs.rmSync(cpuFile, { force: true });
      }
      resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpu, json: out ? JSON.parse(out) : undefined });
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const o = parseArgs(process.argv.slice(2));
  fs.rmSync(o.work, { recursive: true, force: true });
  const root = path.join(o.work, 'root');
  console.error(`replica-push: generating ${o.files} small files…`);
  generate(path.join(root, '.latest'), 'small', o.files);
  const take = spawnSync(process.execPath, [CLI, 'take', root, '--quiet'], { stdio: 'inherit', env: { ...process.env, LINKSNAP_NO_SYNC: '1' } });
  if (take.status !== 0) throw new Error('take failed');
  const server = await startServer(path.join(o.work, 's3'));
  const env = {
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LINKSNAP_PASSPHRASE: 'bench passphrase',
    LINKSNAP_STATE_DIR: path.join(o.work, 'state'),
  };
  const times = { plain: [], encrypted: [] };
  const cpu = { plain: [], encrypted: [] };
  let blobs = 0;
  try {
    for (let i = 0; i < o.runs; i++) {
      const order = i % 2 === 0 ? ['plain', 'encrypted'] : ['encrypted', 'plain'];
      for (const kind of order) {
        const url = `s3://bench/${kind}-${i}`;
        const args = ['push', root, url, '--endpoint', server.endpoint, '--json', ...(kind === 'encrypted' ? ['--encrypt'] : [])];
        const r = await run(args, env);
        blobs = r.json.uploadedBlobs;
        times[kind].push(r.seconds);
        if (r.cpu !== undefined) cpu[kind].push(r.cpu);
        console.error(`replica-push: run ${i + 1} ${kind}: ${r.seconds.toFixed(1)} s${r.cpu !== undefined ? `, ${r.cpu.toFixed(1)} s CPU` : ''} (${r.json.uploadedBlobs} blobs, ${(r.json.uploadedBytes / 2 ** 20).toFixed(0)} MiB)`);
      }
    }
  } finally {
    await server.close();
  }
  const plain = median(times.plain);
  const encrypted = median(times.encrypted);
  const cpuOf = (k) => (cpu[k].length ? median(cpu[k]) : undefined);
  const result = {
    files: o.files,
    blobs,
    runs: o.runs,
    plainSeconds: plain,
    encryptedSeconds: encrypted,
    ratio: encrypted / plain,
    ...(hasGnuTime ? { plainCpuSeconds: cpuOf('plain'), encryptedCpuSeconds: cpuOf('encrypted'), cpuRatio: cpuOf('encrypted') / cpuOf('plain') } : {}),
    cpus: os.cpus().length,
    loadAverage: os.loadavg()[0],
    node: process.version,
  };
  console.log(JSON.stringify(result, null, 2));
  fs.rmSync(o.work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`replica-push: ${e.message}`);
  process.exit(1);
});

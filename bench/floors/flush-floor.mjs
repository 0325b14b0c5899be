#!/usr/bin/env node
// What making N new small files durable costs on a file system, each way a take could do it
// (docs/benchmarks.md, "What bounds each miss"; docs/decisions.md, "Durability"):
//
//   node bench/floors/flush-floor.mjs <scratch-dir> [files=1500]
//   UV_THREADPOOL_SIZE=32 node bench/floors/flush-floor.mjs <scratch-dir> [files] 32
//
// For each way, writes `files` new files of about 4 KiB in a fresh folder under <scratch-dir>
// (unflushed), then times only the flush: fsync of each file with 2, 4 (or the given number)
// in flight, or one `sync -f` of the file system. The folder is removed after each way.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const [scratch, filesArg, concArg] = process.argv.slice(2);
if (!scratch) {
  console.error('usage: node bench/floors/flush-floor.mjs <scratch-dir> [files=1500] [fsyncs in flight]');
  process.exit(2);
}
const files = Number(filesArg ?? 1500);
const ways = concArg ? [Number(concArg)] : [2, 4, 'syncfs'];

for (const way of ways) {
  const dir = fs.mkdtempSync(path.join(scratch, 'flush-floor-'));
  execFileSync('sync', ['-f', scratch]); // nothing of an earlier way left to flush
  const paths = [];
  for (let i = 0; i < files; i++) {
    const p = path.join(dir, `f${i}`);
    fs.writeFileSync(p, Buffer.alloc(4096 + i, i & 255));
    paths.push(p);
  }
  const t0 = performance.now();
  if (way === 'syncfs') execFileSync('sync', ['-f', dir]);
  else {
    let next = 0;
    await Promise.all(
      Array.from({ length: way }, async () => {
        while (next < paths.length) {
          const fh = await fsp.open(paths[next++], 'r');
          await fh.sync();
          await fh.close();
        }
      }),
    );
  }
  const ms = performance.now() - t0;
  console.log(`${way === 'syncfs' ? 'one sync -f' : `fsync, ${way} in flight`}: ${ms.toFixed(0)} ms for ${files} files (${((1000 * ms) / files).toFixed(0)} µs per file)`);
  fs.rmSync(dir, { recursive: true });
}

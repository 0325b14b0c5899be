#!/usr/bin/env node
// What a Node program pays for a no-change snapshot's syscalls, without linksnap's bookkeeping
// (docs/benchmarks.md, "Where the targets stand"). Run on a root that has had at least one take:
//
//   node bench/floors/node-link-floor.mjs <root> <scratch-dir>
//
// Prints two single-purpose walks over <root>/.latest into <scratch-dir> (removed after each),
// in one thread:
//   same-inode   readdir + lstat + link of the source file itself (what `cp -al` does);
//   store-inode  readdir + lstat of the source, link of the store object its record names
//                (what a linksnap take must do: two different inodes per file).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { recordOffsets, readRecord } = await import(path.join(repo, 'dist/model/quick-check.js'));
const { objectName } = await import(path.join(repo, 'dist/store/layout.js'));
const { nsToUs } = await import(path.join(repo, 'dist/model/object-key.js'));

function loadRecords(root) {
  const Database = createRequire(import.meta.url)(path.join(repo, 'node_modules/better-sqlite3'));
  const db = new Database(path.join(root, '.snap/catalog.db'), { readonly: true });
  const m = new Map(db.prepare('SELECT dir, records FROM quick_check').all().map((r) => [r.dir.toString('latin1'), r.records]));
  db.close();
  return m;
}

const [root, scratch] = process.argv.slice(2);
if (!root || !scratch) {
  console.error('usage: node bench/floors/node-link-floor.mjs <root> <scratch-dir>');
  process.exit(2);
}
const src = fs.realpathSync(path.join(root, '.latest'));
const objects = path.join(fs.realpathSync(root), '.snap/objects');
const records = loadRecords(root);
const time = (label, fn) => {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch);
  const t = performance.now();
  return Promise.resolve(fn()).then((n) => {
    console.log(`${label.padEnd(28)} ${String(n).padStart(8)} links  ${((performance.now() - t) / 1000).toFixed(2)} s`);
    fs.rmSync(scratch, { recursive: true, force: true });
  });
};
const walkLink = (fromStore) => {
  let n = 0;
  const walk = (rel, stage) => {
    const rec = records.get(rel);
    const byName = new Map();
    if (fromStore && rec) {
      const offs = recordOffsets(rec);
      for (let i = 0; i + 1 < offs.length; i++) {
        const r = readRecord(rec, offs[i]);
        byName.set(r.name.toString('latin1'), r);
      }
    }
    for (const name of fs.readdirSync(path.join(src, rel))) {
      const abs = path.join(src, rel, name);
      const st = fs.lstatSync(abs, { bigint: true });
      const dest = path.join(stage, name);
      if (st.isDirectory()) {
        fs.mkdirSync(dest);
        walk(rel ? `${rel}/${name}` : name, dest);
      } else if (st.isFile()) {
        const r = byName.get(Buffer.from(name).toString('latin1'));
        const from = fromStore && r ? path.join(objects, r.extra.toString('hex', 0, 1), objectName({ hash: r.extra, mode: r.mode, uid: r.uid, gid: r.gid, mtimeUs: nsToUs(r.mtimeNs) })) : abs;
        fs.linkSync(from, dest);
        n++;
      }
    }
  };
  walk('', scratch);
  return n;
};
await time('store-inode, 1 thread', () => walkLink(true));
// Last: linking the source files themselves changes their ctime, so after this the records
// no longer match (and the next linksnap take re-reads every file once).
await time('same-inode (cp -al in Node)', () => walkLink(false));

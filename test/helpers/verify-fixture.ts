/**
 * A store with several snapshots sharing objects, for the verify / repair / materialize tests,
 * and small tools to damage it and to look at it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { take } from '../../src/ops/take/take.js';
import { openRoot } from '../../src/ops/shared/root.js';
import { lookupPath, getSnapshotOrThrow } from '../../src/ops/shared/snapshot-tree.js';
import { objectPath } from '../../src/store/layout.js';
import { nsToUs } from '../../src/model/object-key.js';
import { splitRelative } from '../../src/util/paths.js';
import { newRoot, steppingClock } from './tmp.js';
import { readTree, type TreeInfo } from './tree.js';

process.env.LINKSNAP_NO_SYNC = '1'; // temp folders: no need to flush the disk in tests

export const NONUTF8 = Buffer.from([0x6e, 0xff, 0x0a, 0x6d]); // "n\xff\nm"

function setMtime(p: string | Buffer, iso: string): void {
  const t = new Date(iso);
  fs.utimesSync(p, t, t);
}

export interface Fixture {
  root: string;
  latest: string;
  /** Snapshot names, oldest first. */
  snaps: string[];
}

/**
 * Three snapshots. `docs/a.txt` and `shared.txt` are unchanged throughout (one object each,
 * linked from every snapshot; `copy/a.txt` has the same content and metadata as `docs/a.txt`, so
 * the same inode); `change.txt` differs in each snapshot; `odd` has a non-UTF-8 name.
 */
export async function makeFixture(): Promise<Fixture> {
  const { root, latest } = newRoot();
  const now = steppingClock();
  fs.mkdirSync(path.join(latest, 'docs/deep'), { recursive: true });
  fs.mkdirSync(path.join(latest, 'copy'));
  fs.mkdirSync(path.join(latest, 'empty'));
  fs.writeFileSync(path.join(latest, 'docs/a.txt'), 'alpha alpha\n');
  fs.writeFileSync(path.join(latest, 'copy/a.txt'), 'alpha alpha\n');
  fs.writeFileSync(path.join(latest, 'shared.txt'), 'shared by all\n');
  fs.writeFileSync(path.join(latest, 'docs/deep/big.bin'), Buffer.alloc(300_000, 3));
  fs.writeFileSync(Buffer.concat([Buffer.from(latest + '/'), NONUTF8]), 'odd name');
  fs.symlinkSync('docs/a.txt', path.join(latest, 'link'));
  fs.chmodSync(path.join(latest, 'shared.txt'), 0o640);
  for (const p of ['docs/a.txt', 'copy/a.txt', 'shared.txt', 'docs/deep/big.bin']) setMtime(path.join(latest, p), '2024-03-01T12:34:56.789Z');
  setMtime(Buffer.concat([Buffer.from(latest + '/'), NONUTF8]), '2023-01-01T00:00:00Z');
  const snaps: string[] = [];
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(path.join(latest, 'change.txt'), `version ${i}\n`);
    setMtime(path.join(latest, 'change.txt'), `2024-04-0${i + 1}T00:00:00Z`);
    for (const d of ['docs/deep', 'docs', 'copy', 'empty', '.']) setMtime(path.join(latest, d), '2024-01-01T00:00:00.123456Z');
    const r = await take(root, { now, racyWindowMs: 0 });
    snaps.push(r.snapshot);
  }
  return { root, latest, snaps };
}

/** The object file that a snapshot path is linked to. */
export function objectFileOf(root: string, snap: string, rel: string | Buffer, replica = 0): string {
  const r = openRoot(root, { readonly: true });
  try {
    const s = getSnapshotOrThrow(r.catalog, snap);
    const e = lookupPath(r.catalog, s, splitRelative(typeof rel === 'string' ? Buffer.from(rel) : rel))!;
    return objectPath(r.layout, { hash: e.hash!, mode: e.mode, uid: e.uid, gid: e.gid, mtimeUs: nsToUs(e.mtimeNs) }, replica);
  } finally {
    r.close();
  }
}

/** Every dated folder of the fixture plus the objects, as one comparable tree (inodes included). */
export function snapshotTrees(f: Fixture): Map<string, TreeInfo> {
  const m = new Map<string, TreeInfo>();
  for (const s of f.snaps) m.set(s, readTree(path.join(f.root, s)));
  return m;
}

/** Overwrite a file in place (same inode): what an editor that writes in place does. */
export function editInPlace(p: string, data: string | Buffer, keepMtime = true): void {
  const st = fs.statSync(p);
  const fd = fs.openSync(p, 'r+');
  fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data, 0, undefined, 0);
  fs.closeSync(fd);
  if (keepMtime) fs.utimesSync(p, st.atime, st.mtime);
}

/** Every path, kind, mode, mtime, size, content and inode below `top` (for "nothing changed"). */
export function fullState(top: string, skip: (rel: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (abs: Buffer, rel: string) => {
    for (const n of fs.readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const r = rel ? `${rel}/${n.toString('latin1')}` : n.toString('latin1');
      if (skip(r)) continue;
      const p = Buffer.concat([abs, Buffer.from('/'), n]);
      const st = fs.lstatSync(p, { bigint: true });
      let extra = '';
      if (st.isFile()) extra = fs.readFileSync(p).toString('base64').slice(0, 64);
      else if (st.isSymbolicLink()) extra = fs.readlinkSync(p, { encoding: 'buffer' }).toString('latin1');
      out.push(`${r} ${st.mode} ${st.mtimeNs} ${st.size} ${st.ino} ${st.nlink} ${extra}`);
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(Buffer.from(top), '');
  return out;
}

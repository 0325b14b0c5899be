/**
 * A structural check of a store, independent of `snap verify`: every complete snapshot's folder
 * equals its catalog manifest (kinds, modes, mtimes, sizes, symlink targets), every file is a
 * hard link to its object (some replica), and every object a snapshot references has a catalog
 * row and files whose content hashes to its name. Also: which object files the catalog's live
 * snapshots need, to compare with what .snap/objects holds after gc.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openRoot } from '../../src/ops/shared/root.js';
import { walkSnapshot } from '../../src/ops/shared/snapshot-tree.js';
import { Kind } from '../../src/model/entry.js';
import { objectName, objectPath } from '../../src/store/layout.js';
import { nsToUs } from '../../src/model/object-key.js';
import { hashBytes } from '../../src/store/hasher.js';
import { joinPath, showName } from '../../src/util/paths.js';
import { readTree, type TreeInfo } from './tree.js';

/** Problems found; empty when the store is consistent. Snapshots in 'deleting' are skipped. */
export function storeProblems(root: string): string[] {
  const problems: string[] = [];
  const r = openRoot(root, { readonly: true });
  try {
    const c = r.catalog;
    const hashed = new Map<string, boolean>();
    for (const s of c.listSnapshots()) {
      if (s.state !== 'complete') continue;
      const top = Buffer.from(path.join(root, s.name));
      if (!fs.existsSync(top)) {
        problems.push(`${s.name}: folder missing`);
        continue;
      }
      const seen = new Set<string>();
      for (const { rel, entry: e } of walkSnapshot(c, s)) {
        seen.add(rel.toString('latin1'));
        const where = `${s.name}/${showName(rel)}`;
        const p = joinPath(top, rel);
        const st = fs.lstatSync(p, { throwIfNoEntry: false });
        if (!st) {
          problems.push(`${where}: missing`);
          continue;
        }
        const kindOk = e.kind === Kind.File ? st.isFile() : e.kind === Kind.Dir ? st.isDirectory() : st.isSymbolicLink();
        if (!kindOk) {
          problems.push(`${where}: wrong kind`);
          continue;
        }
        if (e.kind !== Kind.Symlink && (st.mode & 0o7777) !== e.mode) problems.push(`${where}: mode ${st.mode & 0o7777} != ${e.mode}`);
        const stB = fs.lstatSync(p, { bigint: true });
        if (nsToUs(stB.mtimeNs) !== nsToUs(e.mtimeNs)) problems.push(`${where}: mtime`);
        if (e.kind === Kind.Symlink && !fs.readlinkSync(p, { encoding: 'buffer' }).equals(e.target!)) problems.push(`${where}: target`);
        if (e.kind !== Kind.File) continue;
        if (st.size !== e.size) problems.push(`${where}: size`);
        const key = { hash: e.hash!, mode: e.mode, uid: e.uid, gid: e.gid, mtimeUs: nsToUs(e.mtimeNs) };
        const row = c.getObject(key);
        if (!row) {
          problems.push(`${where}: no object row for ${objectName(key)}`);
          continue;
        }
        const inodes: bigint[] = [];
        for (let i = 0; i < row.replicas; i++) {
          const op = objectPath(r.layout, key, i);
          const ost = fs.statSync(op, { bigint: true, throwIfNoEntry: false });
          if (!ost) {
            problems.push(`${where}: object file ${path.basename(op)} missing`);
            continue;
          }
          inodes.push(ost.ino);
          if (!hashed.has(op)) hashed.set(op, hashBytes(fs.readFileSync(op)).equals(e.hash!));
          if (!hashed.get(op)) problems.push(`${where}: object ${path.basename(op)} content does not match its hash`);
        }
        if (!inodes.includes(stB.ino)) problems.push(`${where}: not a hard link to its object`);
      }
      // Nothing extra in the folder.
      const visit = (abs: Buffer, rel: Buffer) => {
        for (const n of fs.readdirSync(abs, { encoding: 'buffer' })) {
          const relN = joinPath(rel, n);
          if (!seen.has(relN.toString('latin1'))) problems.push(`${s.name}/${showName(relN)}: extra`);
          else if (fs.lstatSync(joinPath(abs, n)).isDirectory()) visit(joinPath(abs, n), relN);
        }
      };
      visit(top, Buffer.alloc(0));
    }
  } finally {
    r.close();
  }
  return problems;
}

/** The object file names (relative to .snap/objects) that the live snapshots need, sorted. */
export function neededObjectFiles(root: string): string[] {
  const r = openRoot(root, { readonly: true });
  try {
    const c = r.catalog;
    const out = new Set<string>();
    for (const s of c.listSnapshots()) {
      for (const { entry: e } of walkSnapshot(c, s)) {
        if (e.kind !== Kind.File) continue;
        const key = { hash: e.hash!, mode: e.mode, uid: e.uid, gid: e.gid, mtimeUs: nsToUs(e.mtimeNs) };
        const replicas = c.getObject(key)?.replicas ?? 1;
        for (let i = 0; i < replicas; i++) out.add(path.relative(r.layout.objects, objectPath(r.layout, key, i)));
      }
    }
    return [...out].sort();
  } finally {
    r.close();
  }
}

/** Every path under .snap/objects (files and anything else), relative to it, sorted. */
export function objectDirListing(root: string): string[] {
  const base = path.join(root, '.snap/objects');
  const out: string[] = [];
  if (!fs.existsSync(base)) return out;
  for (const fan of fs.readdirSync(base)) {
    const d = path.join(base, fan);
    if (!fs.lstatSync(d).isDirectory()) out.push(fan);
    else for (const n of fs.readdirSync(d)) out.push(path.join(fan, n));
  }
  return out.sort();
}

/** The whole root as readTree sees it, minus SQLite's -wal/-shm files (a read-only open may create them). */
export function rootState(root: string): TreeInfo {
  const t = readTree(root);
  for (const k of [...t.keys()]) if (/^\.snap\/(catalog|lock)\.(db-wal|db-shm|owner)$/.test(k)) t.delete(k);
  t.delete('.snap'); // its mtime moves when those files come and go
  return t;
}

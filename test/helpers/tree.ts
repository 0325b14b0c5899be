/**
 * Reading a real folder into a comparable description (names as bytes, metadata to the µs an
 * inode holds, content hashes, inode numbers), and comparing two such descriptions.
 */
import fs from 'node:fs';
import crypto from 'node:crypto';
import { joinPath } from '../../src/util/paths.js';

export interface NodeInfo {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtimeUs: bigint;
  size: number;
  sha?: string;
  target?: string; // hex of the target bytes
  ino: bigint;
  nlink: number;
}

/** path (latin1 of the relative byte path, '' for the top) -> info */
export type TreeInfo = Map<string, NodeInfo>;

function floorUs(ns: bigint): bigint {
  const us = ns / 1000n;
  return ns < 0n && us * 1000n !== ns ? us - 1n : us;
}

export function readTree(top: string | Buffer, opts: { withTop?: boolean } = {}): TreeInfo {
  const out: TreeInfo = new Map();
  const visit = (abs: Buffer, rel: Buffer) => {
    const st = fs.lstatSync(abs, { bigint: true });
    const info: NodeInfo = {
      kind: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other',
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      mtimeUs: floorUs(st.mtimeNs),
      size: st.isDirectory() ? 0 : Number(st.size),
      ino: st.ino,
      nlink: Number(st.nlink),
    };
    if (info.kind === 'file') info.sha = crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
    if (info.kind === 'symlink') {
      info.target = fs.readlinkSync(abs, { encoding: 'buffer' }).toString('hex');
      info.mode = 0o777;
    }
    if (rel.length > 0 || opts.withTop !== false) out.set(rel.toString('latin1'), info);
    if (info.kind === 'dir') {
      for (const name of fs.readdirSync(abs, { encoding: 'buffer' })) visit(joinPath(abs, name), joinPath(rel, name));
    }
  };
  visit(Buffer.from(top), Buffer.alloc(0));
  return out;
}

export interface CompareOptions {
  /** Compare uid/gid (only meaningful when the snapshot was made as root). */
  owners?: boolean;
  /** Compare the top folder's own metadata too. */
  top?: boolean;
}

/** Differences between two trees as readable lines; empty when equal. Ignores inode numbers. */
export function diffTrees(expected: TreeInfo, actual: TreeInfo, opts: CompareOptions = {}): string[] {
  const diffs: string[] = [];
  const show = (k: string) => JSON.stringify(Buffer.from(k, 'latin1').toString('utf8')) || '(top)';
  for (const [k, e] of expected) {
    if (k === '' && opts.top === false) continue;
    const a = actual.get(k);
    if (!a) {
      diffs.push(`missing ${show(k)}`);
      continue;
    }
    const fields: (keyof NodeInfo)[] = ['kind', 'mode', 'mtimeUs', 'size', 'sha', 'target'];
    if (opts.owners) fields.push('uid', 'gid');
    for (const f of fields) {
      if (e.kind === 'symlink' && f === 'mode') continue;
      if (e[f] !== a[f]) diffs.push(`${show(k)}: ${f} expected ${String(e[f])} got ${String(a[f])}`);
    }
  }
  for (const k of actual.keys()) if (!expected.has(k) && !(k === '' && opts.top === false)) diffs.push(`extra ${show(k)}`);
  return diffs;
}

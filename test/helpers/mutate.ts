/**
 * Random mutations of a real source folder for property tests: add, change (also same size with
 * the old mtime put back), delete, rename, copy with metadata, chmod, touch, mkdir, rmdir,
 * symlink. Names come from a small alphabet (with a non-UTF-8 byte) so operations collide often.
 */
import fs from 'node:fs';
import fc from 'fast-check';
import { joinPath } from '../../src/util/paths.js';

const NAMES = [Buffer.from('a'), Buffer.from('b'), Buffer.from('ç'), Buffer.from([0x78, 0xff]), Buffer.from('d d')];
const CONTENTS = ['', 'x', 'hello', 'hello!', 'HELLO', 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz'];
const TIMES = [1_600_000_000_123_456_789n, 1_650_000_000_000_000_000n, 1_700_000_000_999_999_999n];

export type Mutation =
  | { op: 'write'; path: number[]; content: number }
  | { op: 'rewriteSameSize'; path: number[] }
  | { op: 'delete'; path: number[] }
  | { op: 'rename'; from: number[]; to: number[] }
  | { op: 'copy'; from: number[]; to: number[] }
  | { op: 'chmod'; path: number[]; mode: number }
  | { op: 'touch'; path: number[]; time: number }
  | { op: 'mkdir'; path: number[] }
  | { op: 'symlink'; path: number[]; target: number };

const pathArb = fc.array(fc.nat(NAMES.length - 1), { minLength: 1, maxLength: 3 });

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), path: pathArb, content: fc.nat(CONTENTS.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rewriteSameSize' as const), path: pathArb }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), path: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rename' as const), from: pathArb, to: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('copy' as const), from: pathArb, to: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path: pathArb, mode: fc.constantFrom(0o644, 0o600, 0o755, 0o444) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('touch' as const), path: pathArb, time: fc.nat(TIMES.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path: pathArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink' as const), path: pathArb, target: fc.nat(NAMES.length - 1) }) },
);

function resolve(top: string, idx: number[]): Buffer {
  let p = Buffer.from(top);
  for (const i of idx) p = joinPath(p, NAMES[i]!);
  return p;
}

function lst(p: Buffer): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined; // ENOENT, or ENOTDIR when a parent is a file
  }
}

function setNs(p: Buffer, ns: bigint): void {
  const t = Number(ns / 1000n) / 1e6 + 0.0000005;
  fs.utimesSync(p, t, t);
}

/** Apply a mutation if it makes sense in the current tree; otherwise do nothing. */
export function applyMutation(top: string, m: Mutation): void {
  const parentOk = (p: Buffer) => {
    const dir = p.subarray(0, p.lastIndexOf(0x2f));
    return lst(dir)?.isDirectory() ?? false;
  };
  try {
    switch (m.op) {
      case 'write': {
        const p = resolve(top, m.path);
        const st = lst(p);
        if (!parentOk(p) || (st && !st.isFile())) return;
        fs.writeFileSync(p, CONTENTS[m.content]!);
        setNs(p, TIMES[m.content % TIMES.length]!);
        return;
      }
      case 'rewriteSameSize': {
        const p = resolve(top, m.path);
        const st = lst(p);
        if (!st?.isFile() || st.size === 0) return;
        const old = fs.readFileSync(p);
        const st0 = fs.statSync(p, { bigint: true });
        fs.writeFileSync(p, Buffer.from(old.map((b) => b ^ 1)));
        setNs(p, st0.mtimeNs); // the quick check must notice via ctime
        return;
      }
      case 'delete': {
        const p = resolve(top, m.path);
        if (lst(p)) fs.rmSync(p, { recursive: true, force: true });
        return;
      }
      case 'rename': {
        const from = resolve(top, m.from);
        const to = resolve(top, m.to);
        if (!lst(from) || lst(to) || !parentOk(to) || to.subarray(0, from.length + 1).equals(Buffer.concat([from, Buffer.from('/')]))) return;
        fs.renameSync(from, to);
        return;
      }
      case 'copy': {
        const from = resolve(top, m.from);
        const to = resolve(top, m.to);
        if (!lst(from)?.isFile() || lst(to) || !parentOk(to)) return;
        fs.copyFileSync(from, to);
        const st = fs.statSync(from, { bigint: true });
        fs.chmodSync(to, Number(st.mode & 0o7777n));
        setNs(to, st.mtimeNs);
        return;
      }
      case 'chmod': {
        const p = resolve(top, m.path);
        if (lst(p)?.isFile()) fs.chmodSync(p, m.mode);
        return;
      }
      case 'touch': {
        const p = resolve(top, m.path);
        const st = lst(p);
        if (st && !st.isSymbolicLink()) setNs(p, TIMES[m.time]!);
        return;
      }
      case 'mkdir': {
        const p = resolve(top, m.path);
        if (!lst(p) && parentOk(p)) fs.mkdirSync(p);
        return;
      }
      case 'symlink': {
        const p = resolve(top, m.path);
        if (!lst(p) && parentOk(p)) fs.symlinkSync(NAMES[m.target]!, p);
        return;
      }
    }
  } catch (e) {
    throw new Error(`mutation ${JSON.stringify(m)} failed: ${(e as Error).message}`);
  }
}

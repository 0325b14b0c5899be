/**
 * `snap diff <root> <a> [<b>]`: what changed between two snapshots, or between a snapshot and
 * `.latest` as it is now (the default b).
 *
 * Two snapshots are compared tree by tree from the catalog: folders with the same Merkle tree id
 * are identical and skipped without being listed, so the cost follows the change, not the size.
 * Against `.latest` the live folder is walked; a file's content is taken from its quick-check
 * record when that still holds (src/model/quick-check.ts), and hashed otherwise.
 *
 * Each difference is one item:
 *   added / removed   a path on one side only (a whole folder lists the folder and everything
 *                     below it);
 *   changed           same path, same kind, with `changes` naming what differs: content, target
 *                     (symlinks), mode, owner, mtime (a folder's mtime alone is noise — every
 *                     add or delete inside touches it — so it is reported only with dirMtime),
 *                     xattrs (extended attributes, recorded by take --xattrs; against .latest
 *                     read only on roots that recorded some);
 *                     a path whose kind changed is reported as removed + added;
 *   renamed           a file whose content (BLAKE3) disappeared at one path and appeared at
 *                     another (`from` → `path`), metadata differences in `changes`; between two
 *                     snapshots also a whole folder with identical contents (one item, not one
 *                     per file).
 * Read-only: takes no lock.
 */
import path from 'node:path';
import { openRoot } from '../shared/root.js';
import { findSource } from '../shared/source.js';
import { getSnapshotOrThrow } from '../shared/snapshot-tree.js';
import { Warnings, type Warning } from '../shared/warnings.js';
import { liveSide, snapshotSide, hashOf, type Side, type SideEntry } from './diff-sides.js';
import { Kind, kindName } from '../../model/entry.js';
import { LATEST } from '../../store/layout.js';
import { joinPath, showName } from '../../util/paths.js';
import { SnapError } from '../../errors.js';

export type DiffStatus = 'added' | 'removed' | 'changed' | 'renamed';
export type DiffChange = 'content' | 'target' | 'mode' | 'owner' | 'mtime' | 'xattrs';

export interface DiffItem {
  status: DiffStatus;
  /** Printable path relative to the snapshot top (the new path for renames). */
  path: string;
  /** renamed: the old path. */
  from?: string;
  kind: 'file' | 'dir' | 'symlink';
  /** Size on the b side (files; symlinks: target length); absent for removed. */
  size?: number;
  /** Size on the a side, when it differs or the path was removed. */
  oldSize?: number;
  changes?: DiffChange[];
}

export interface DiffOptions {
  /** Report folders whose mtime alone changed. */
  dirMtime?: boolean;
  /** Excludes applied to `.latest` (the same a take would use). */
  exclude?: (rel: Buffer, isDir: boolean) => boolean;
}

export interface DiffResult {
  a: string;
  b: string;
  items: DiffItem[];
  summary: { added: number; removed: number; changed: number; renamed: number };
  /** Live files read and hashed because the quick check could not vouch for them. */
  hashedFiles: number;
  hashedBytes: number;
  warnings: Warning[];
  seconds: number;
}

interface Raw {
  rel: Buffer;
  entry: SideEntry;
  side: Side;
}

interface Collected {
  added: Raw[];
  removed: Raw[];
  changed: { rel: Buffer; a: SideEntry; b: SideEntry; changes: DiffChange[] }[];
}

function metaChanges(a: SideEntry, b: SideEntry, dirMtime: boolean): DiffChange[] {
  const c: DiffChange[] = [];
  // A symlink's mode is always 0777 on Linux and cannot be changed: never report it.
  if (a.kind !== Kind.Symlink && a.mode !== b.mode) c.push('mode');
  if (a.uid !== b.uid || a.gid !== b.gid) c.push('owner');
  if (a.mtimeNs !== b.mtimeNs && (a.kind !== Kind.Dir || dirMtime)) c.push('mtime');
  if (a.xattrs && b.xattrs && !a.xattrs.equals(b.xattrs)) c.push('xattrs');
  return c;
}

async function compareDirs(
  sa: Side,
  da: SideEntry | undefined,
  sb: Side,
  db: SideEntry | undefined,
  rel: Buffer,
  out: Collected,
  opts: DiffOptions,
): Promise<void> {
  if (sa.isSnapshot && sb.isSnapshot && da && db && da.tree === db.tree) return; // same Merkle tree
  const [la, lb] = [await sa.list(da, rel), await sb.list(db, rel)];
  let i = 0;
  let j = 0;
  while (i < la.length || j < lb.length) {
    const cmp = i >= la.length ? 1 : j >= lb.length ? -1 : Buffer.compare(la[i]!.name, lb[j]!.name);
    if (cmp < 0) {
      const e = la[i++]!;
      out.removed.push({ rel: joinPath(rel, e.name), entry: e, side: sa });
    } else if (cmp > 0) {
      const e = lb[j++]!;
      out.added.push({ rel: joinPath(rel, e.name), entry: e, side: sb });
    } else {
      const a = la[i++]!;
      const b = lb[j++]!;
      const childRel = joinPath(rel, a.name);
      if (a.kind !== b.kind) {
        out.removed.push({ rel: childRel, entry: a, side: sa });
        out.added.push({ rel: childRel, entry: b, side: sb });
        continue;
      }
      const changes = metaChanges(a, b, opts.dirMtime ?? false);
      if (a.kind === Kind.File) {
        if (a.size !== b.size) changes.unshift('content');
        else {
          const [ha, hb] = [await hashOf(a), await hashOf(b)];
          if (ha && hb && !ha.equals(hb)) changes.unshift('content');
        }
      } else if (a.kind === Kind.Symlink) {
        if (!a.target!.equals(b.target!)) changes.unshift('target');
      }
      if (changes.length > 0) out.changed.push({ rel: childRel, a, b, changes });
      if (a.kind === Kind.Dir) await compareDirs(sa, a, sb, b, childRel, out, opts);
    }
  }
}

/** A folder on one side only, and everything below it. */
async function expand(r: Raw, into: Raw[]): Promise<void> {
  into.push(r);
  if (r.entry.kind !== Kind.Dir) return;
  for (const child of await r.side.list(r.entry, r.rel)) {
    await expand({ rel: joinPath(r.rel, child.name), entry: child, side: r.side }, into);
  }
}

function item(status: DiffStatus, rel: Buffer, e: SideEntry, extra: Partial<DiffItem> = {}): DiffItem & { rel: Buffer } {
  const it: DiffItem & { rel: Buffer } = { rel, status, path: showName(rel), kind: kindName(e.kind), ...extra };
  return it;
}

async function pairRenames(c: Collected, opts: DiffOptions, items: (DiffItem & { rel: Buffer })[]): Promise<void> {
  // Whole folders with identical contents (snapshots only: the live side has no tree ids).
  const removedDirs = new Map<number, Raw[]>();
  for (const r of c.removed) if (r.entry.kind === Kind.Dir && r.side.isSnapshot && r.entry.tree !== undefined) {
    const l = removedDirs.get(r.entry.tree) ?? [];
    l.push(r);
    removedDirs.set(r.entry.tree, l);
  }
  const movedDirs = new Set<Raw>();
  const addedTop: Raw[] = [];
  for (const a of c.added) {
    const match = a.entry.kind === Kind.Dir && a.side.isSnapshot && a.entry.tree !== undefined ? removedDirs.get(a.entry.tree)?.shift() : undefined;
    if (match) {
      movedDirs.add(match);
      const changes = metaChanges(match.entry, a.entry, opts.dirMtime ?? false);
      items.push(item('renamed', a.rel, a.entry, { from: showName(match.rel), ...(changes.length ? { changes } : {}) }));
    } else addedTop.push(a);
  }
  const removed: Raw[] = [];
  for (const r of c.removed) if (!movedDirs.has(r)) await expand(r, removed);
  const added: Raw[] = [];
  for (const a of addedTop) await expand(a, added);

  // Files: the same content gone at one path and new at another. Sizes first, so a live file is
  // hashed only when a removed file of its size exists.
  const removedBySize = new Map<number, Raw[]>();
  for (const r of removed) if (r.entry.kind === Kind.File) {
    const l = removedBySize.get(r.entry.size) ?? [];
    l.push(r);
    removedBySize.set(r.entry.size, l);
  }
  const paired = new Set<Raw>();
  for (const a of added) {
    const candidates = a.entry.kind === Kind.File ? removedBySize.get(a.entry.size) : undefined;
    let match: Raw | undefined;
    if (candidates?.length) {
      const h = await hashOf(a.entry);
      if (h) {
        for (const r of candidates) {
          if (paired.has(r)) continue;
          const rh = await hashOf(r.entry);
          if (rh && rh.equals(h)) {
            match = r;
            break;
          }
        }
      }
    }
    if (match) {
      paired.add(match);
      const changes = metaChanges(match.entry, a.entry, false);
      items.push(item('renamed', a.rel, a.entry, { from: showName(match.rel), size: a.entry.size, ...(changes.length ? { changes } : {}) }));
    } else items.push(item('added', a.rel, a.entry, a.entry.kind === Kind.Dir ? {} : { size: a.entry.size }));
  }
  for (const r of removed) {
    if (!paired.has(r)) items.push(item('removed', r.rel, r.entry, r.entry.kind === Kind.Dir ? {} : { oldSize: r.entry.size }));
  }
}

export async function diff(rootArg: string, aName: string, bName: string = LATEST, opts: DiffOptions = {}): Promise<DiffResult> {
  const t0 = process.hrtime.bigint();
  const root = openRoot(rootArg, { readonly: true });
  try {
    const warnings = new Warnings();
    const counters = { hashedFiles: 0, hashedBytes: 0 };
    const sideFor = (arg: string): Side => {
      // A snapshot may be given as its folder path too (tab completion): use the last component.
      const name = path.basename(arg);
      if (name === LATEST) {
        const src = findSource(root.layout.root);
        return liveSide(src.real, { catalog: root.catalog, exclude: opts.exclude, warnings, counters, xattrs: root.catalog.hasXattrSets() });
      }
      const s = getSnapshotOrThrow(root.catalog, name);
      return snapshotSide(root.catalog, s.name, s.rootTree);
    };
    if (path.basename(aName) === path.basename(bName)) throw new SnapError('USAGE', `comparing ${aName} with itself`, { hint: 'give two different snapshots (b defaults to .latest)' });
    const sa = sideFor(aName);
    const sb = sideFor(bName);
    const collected: Collected = { added: [], removed: [], changed: [] };
    await compareDirs(sa, undefined, sb, undefined, Buffer.alloc(0), collected, opts);
    const items: (DiffItem & { rel: Buffer })[] = [];
    for (const ch of collected.changed) {
      const sizes = ch.a.kind === Kind.Dir ? {} : ch.a.size !== ch.b.size ? { size: ch.b.size, oldSize: ch.a.size } : { size: ch.b.size };
      items.push(item('changed', ch.rel, ch.b, { ...sizes, changes: ch.changes }));
    }
    await pairRenames(collected, opts, items);
    // Byte order of paths; at one path (a kind change) the removal comes before the addition.
    const rank: Record<DiffStatus, number> = { removed: 0, changed: 1, renamed: 2, added: 3 };
    items.sort((x, y) => Buffer.compare(x.rel, y.rel) || rank[x.status] - rank[y.status]);
    const summary = { added: 0, removed: 0, changed: 0, renamed: 0 };
    for (const it of items) summary[it.status]++;
    return {
      a: sa.label,
      b: sb.label,
      items: items.map(({ rel: _rel, ...rest }) => rest),
      summary,
      hashedFiles: counters.hashedFiles,
      hashedBytes: counters.hashedBytes,
      warnings: warnings.list,
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
    };
  } finally {
    root.close();
  }
}

/**
 * Comparing the dated folders with their manifests: walk the catalog's trees and the folders side
 * by side, and report missing, extra, replaced and changed paths. The same walk maps the damaged
 * objects found by check-objects.ts to every snapshot path that shares them.
 *
 * All the snapshots are walked together, folder by folder (the same path in each): snapshots share
 * trees (an unchanged folder has the same tree id in every snapshot), so each distinct tree's
 * entries are read from the catalog once per visit and checked against every snapshot folder that
 * has that tree. Per entry and snapshot that leaves one lstat, the floor of any walk. Whether a
 * file is its object's inode is answered from the inodes the object check saw (object-inodes.ts),
 * not by an lstat of the object file per path. A folder's names and its entries are both read in
 * byte order and merged (folder-listing.ts; the catalog a page at a time), so a folder of a million
 * names is never held as a million objects; a folder that big is checked on its own, one snapshot
 * at a time.
 *
 * Uses synchronous lstat/readdir: this is metadata work on hot inodes, where the thread-pool
 * round trip of the async calls costs more than the call itself. Never follows a symlink: each
 * folder is lstat'ed before it is entered, so a symlink planted in a dated folder is reported,
 * not followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Root } from '../shared/root.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import { folderEntriesPage, ROW, type FolderEntryRow } from '../../catalog/verify-queries.js';
import { Kind, type Entry } from '../../model/entry.js';
import { objectPath } from '../../store/layout.js';
import { nsToUs, objectKeyOf, type ObjectKey } from '../../model/object-key.js';
import { HASH_BYTES } from '../../store/hasher.js';
import { isSafeName, joinPath, showName } from '../../util/paths.js';
import { ErrnoError, errnoCode } from '../../errors.js';
import { TreeGuard, snapshotPath } from '../shared/snapshot-tree.js';
import { MAX_PATHS_PER_FINDING, type DamageKind, type Finding, type ObjectDamage, type ReplacedEntry } from './types.js';
import { lstatOrUndefined } from '../../util/fs.js';
import { AT_FDCWD, lstatAtOrUndefined, openFolderAt, type Lstat } from '../../util/fsat.js';
import { folderXattrsProblem } from './check-xattrs.js';
import { FolderListing } from './folder-listing.js';
import type { ObjectInodes } from './object-inodes.js';

export interface FolderCheckContext {
  root: Root;
  owners: boolean;
  /** objectName → damage found by the object check (refs are added here). */
  objectDamage: Map<string, ObjectDamage>;
  /** The inodes of the objects, as the object check found them. */
  inodes: ObjectInodes;
  findings: Finding[];
  replaced: ReplacedEntry[];
  /** Snapshots with damage that a rebuild of the dated folder repairs. */
  folderDamaged: Set<string>;
  /** Snapshots whose manifest itself is broken: they cannot be rebuilt. */
  unrebuildable: Set<string>;
  entries: number;
}

/** A snapshot to walk: `check` false walks its catalog only, to map damaged objects to paths. */
export interface SnapshotToWalk {
  snap: SnapshotRow;
  check: boolean;
}

/** Catalog entries read per query: a big folder is read a page at a time. */
const PAGE = 1024;
/** Packed listings (big folders) held at once at one path; past this a folder is checked on its own. */
const LISTINGS_HELD = 16 * 1024 * 1024;
/**
 * Folders held open at once: each entry is lstat'ed relative to its open folder (one name to
 * resolve, not the whole path); past this (a deep chain times many snapshots) by its path.
 */
const MAX_OPEN_FOLDERS = 1024;
/** Entries checked between two turns of the event loop (progress, signals). */
const YIELD_EVERY = 16_384;

function oct(m: number): string {
  return '0' + m.toString(8).padStart(3, '0');
}

function iso(us: bigint): string {
  return new Date(Number(us / 1000n)).toISOString();
}

function kindOfStat(st: Lstat): string {
  return st.isFile() ? 'a file' : st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symlink' : 'a special file';
}

function kindWord(k: number): string {
  return k === Kind.File ? 'a file' : k === Kind.Dir ? 'a folder' : 'a symlink';
}

/** Recorded metadata of a folder or symlink, mtime in µs. */
interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtimeUs: bigint;
}

function rowMeta(r: FolderEntryRow): Meta {
  return { mode: r[ROW.mode], uid: r[ROW.uid], gid: r[ROW.gid], mtimeUs: BigInt(r[ROW.mtimeUs]) };
}

/** Differences between a folder's or symlink's inode and its recorded metadata. */
function drift(st: Lstat, meta: Meta, owners: boolean, withMode: boolean): string[] {
  const out: string[] = [];
  const mode = Number(st.mode & 0o7777n);
  if (withMode && mode !== meta.mode) out.push(`mode ${oct(mode)}, expected ${oct(meta.mode)}`);
  const us = nsToUs(st.mtimeNs);
  if (us !== meta.mtimeUs) out.push(`mtime ${iso(us)}, expected ${iso(meta.mtimeUs)}`);
  if (owners && (Number(st.uid) !== meta.uid || Number(st.gid) !== meta.gid)) out.push(`owner ${st.uid}:${st.gid}, expected ${meta.uid}:${meta.gid}`);
  return out;
}

function fileKey(e: Entry): ObjectKey | undefined {
  if (!e.hash || e.hash.length !== HASH_BYTES) return undefined;
  return objectKeyOf(e.hash, e);
}

/** One snapshot's folder at the path being walked. */
interface Member {
  snap: SnapshotRow;
  check: boolean;
  /** Its tree, and the chain of trees above it (cycle and depth guard). */
  guard: TreeGuard;
  /** Its folder on disk; undefined when only the catalog is walked (missing, not a folder, not checked). */
  abs: Buffer | undefined;
  /** The folder's st_size (how to list it). */
  size: bigint;
  /** The folder, open while it is visited (else its entries are reached by path). */
  fd?: number;
  /** The open parent folder and this folder's name in it, to open it relative to its parent. */
  parentFd?: number;
  name?: Buffer;
}

/** A member being checked: its folder's names, and those not in the manifest. */
interface Visit {
  m: Member;
  listing: FolderListing | undefined;
  extras: Buffer[];
}

/** A tree's entries, read a page at a time, shared by every member that has this tree. */
class TreeCursor {
  private rows: FolderEntryRow[];
  private i = 0;

  constructor(
    private readonly root: Root,
    readonly tree: number,
    readonly visits: Visit[],
  ) {
    this.rows = folderEntriesPage(root.catalog, HASH_BYTES, tree, undefined, PAGE);
  }

  head(): FolderEntryRow | undefined {
    if (this.i < this.rows.length) return this.rows[this.i];
    if (this.rows.length < PAGE) return undefined;
    this.rows = folderEntriesPage(this.root.catalog, HASH_BYTES, this.tree, this.rows[this.rows.length - 1]![ROW.name], PAGE);
    this.i = 0;
    return this.rows[0];
  }

  advance(): void {
    this.i++;
  }
}

class FolderWalk {
  private readonly damageByRid = new Map<number, ObjectDamage>();
  private sinceYield = 0;
  private openFolders = 0;

  constructor(private readonly ctx: FolderCheckContext) {
    for (const d of ctx.objectDamage.values()) this.damageByRid.set(d.rid, d);
  }

  private add(m: Member, kind: DamageKind, rel: Buffer, message: string, rebuild = true): void {
    if (kind === 'catalog-invariant') this.ctx.unrebuildable.add(m.snap.name);
    else if (rebuild) this.ctx.folderDamaged.add(m.snap.name);
    // A snapshot walked only to map damaged objects keeps its findings to itself.
    if (m.check) this.ctx.findings.push({ kind, severity: 'damage', snapshots: [m.snap.name], paths: [snapshotPath(m.snap.name, rel)], message });
  }

  /** The dated folder: present, a real folder, with the recorded metadata. */
  member(s: SnapshotToWalk): Member {
    const m: Member = { snap: s.snap, check: s.check, guard: TreeGuard.top(s.snap.name, s.snap.rootTree), abs: undefined, size: 0n };
    if (!s.check) return m;
    const abs = Buffer.from(path.join(this.ctx.root.layout.root, s.snap.name));
    const st = lstatOrUndefined(abs);
    if (!st) {
      this.add(m, 'folder-missing', Buffer.alloc(0), 'the dated folder is missing');
      return m;
    }
    if (!st.isDirectory()) {
      this.add(m, 'folder-missing', Buffer.alloc(0), `the dated folder is ${kindOfStat(st)}, not a folder`);
      return m;
    }
    const meta = { mode: s.snap.rootMode, uid: s.snap.rootUid, gid: s.snap.rootGid, mtimeUs: nsToUs(s.snap.rootMtimeNs) };
    const d = drift(st, meta, this.ctx.owners, true);
    if (d.length) this.add(m, 'entry-metadata', Buffer.alloc(0), d.join(', '));
    const x = folderXattrsProblem(this.ctx.root, abs, st, s.snap.rootXattrs.length ? s.snap.rootXattrs : undefined);
    if (x) this.add(m, 'entry-xattrs', Buffer.alloc(0), x);
    m.abs = abs;
    m.size = st.size;
    return m;
  }

  /**
   * The folder at `rel` of every member: listed, then checked together; a listing that would take
   * the packed listings held past LISTINGS_HELD is checked on its own right away (so a folder of a
   * million names is held once, not once per snapshot).
   */
  async folder(rel: Buffer, members: Member[]): Promise<void> {
    // Go on from a fresh stack (a microtask): a chain of 2,048 folders, the deepest the guard
    // lets through, must not overflow it.
    if (members[0]!.guard.depth % 64 === 63) await Promise.resolve();
    const together: Visit[] = [];
    let held = 0;
    for (const m of members) {
      const v: Visit = { m, listing: this.list(m, rel), extras: [] };
      const bytes = v.listing?.packedBytes ?? 0;
      if (bytes > 0 && held + bytes > LISTINGS_HELD) await this.visit(rel, [v]);
      else {
        together.push(v);
        held += bytes;
      }
    }
    if (together.length) await this.visit(rel, together);
  }

  private list(m: Member, rel: Buffer): FolderListing | undefined {
    if (!m.abs) return undefined;
    try {
      this.open(m);
      return m.fd === undefined ? FolderListing.read(m.abs, m.size) : FolderListing.readAt(m.fd);
    } catch (e) {
      // Moved away since its lstat (a prune while a lock-free verify runs; such findings are
      // dropped at the end when the snapshot is gone) or replaced by a non-folder or a symlink.
      const code = errnoCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw e;
      this.close(m);
      this.add(m, rel.length === 0 ? 'folder-missing' : 'entry-missing', rel, 'the folder vanished while being checked');
      m.abs = undefined;
      return undefined;
    }
  }

  /** Open the member's folder (never through a symlink) while few enough are open. */
  private open(m: Member): void {
    if (this.openFolders >= MAX_OPEN_FOLDERS) return;
    const fd = m.parentFd !== undefined && m.name ? openFolderAt(m.parentFd, m.name) : openFolderAt(AT_FDCWD, m.abs!);
    if (typeof fd === 'string') throw new ErrnoError(fd, `${fd}: cannot open ${m.abs!.toString()}`);
    m.fd = fd;
    this.openFolders++;
  }

  private close(m: Member): void {
    if (m.fd === undefined) return;
    fs.closeSync(m.fd);
    m.fd = undefined;
    this.openFolders--;
  }

  /** Merge the entries of the members' trees (each distinct tree read once) by name, and check each. */
  private async visit(rel: Buffer, visits: Visit[]): Promise<void> {
    const byTree = new Map<number, Visit[]>();
    for (const v of visits) {
      const vs = byTree.get(v.m.guard.tree);
      if (vs) vs.push(v);
      else byTree.set(v.m.guard.tree, [v]);
    }
    const cursors = [...byTree].map(([tree, vs]) => new TreeCursor(this.ctx.root, tree, vs));
    for (;;) {
      let name: Buffer | undefined;
      for (const c of cursors) {
        const h = c.head();
        if (h && (name === undefined || Buffer.compare(h[ROW.name], name) < 0)) name = h[ROW.name];
      }
      if (name === undefined) break;
      const childRel = isSafeName(name) ? joinPath(rel, name) : undefined;
      const children: Member[] = [];
      for (const c of cursors) {
        const h = c.head();
        if (!h || !h[ROW.name].equals(name)) continue;
        c.advance();
        if (childRel) this.entry(c.tree, h, childRel, c.visits, children);
        else for (const v of c.visits) this.add(v.m, 'catalog-invariant', joinPath(rel, Buffer.from(showName(name))), `unsafe name ${JSON.stringify(showName(name))} in the catalog`);
      }
      if (children.length) await this.folder(childRel!, children);
      if (this.sinceYield >= YIELD_EVERY) {
        this.sinceYield = 0;
        await new Promise((r) => setImmediate(r)); // let progress and signals through
      }
    }
    for (const v of visits) {
      v.listing?.rest(v.extras);
      for (const extra of v.extras) this.add(v.m, 'entry-extra', joinPath(rel, extra), 'not in the snapshot’s manifest');
      this.close(v.m);
    }
  }

  /** One entry of tree `tree`, in the folder of every visit that has this tree; subfolders to enter go to `children`. */
  private entry(tree: number, row: FolderEntryRow, rel: Buffer, visits: Visit[], children: Member[]): void {
    const name = row[ROW.name];
    const kind = row[ROW.kind];
    for (const v of visits) {
      const m = v.m;
      const present = v.listing ? v.listing.seek(name, v.extras) : false;
      const abs = m.abs && present ? joinPath(m.abs, name) : undefined;
      this.ctx.entries++;
      this.sinceYield++;
      if (m.abs && !present) this.add(m, 'entry-missing', rel, `${kindWord(kind)} is missing`);
      const st = abs ? (m.fd === undefined ? lstatAtOrUndefined(AT_FDCWD, abs) : lstatAtOrUndefined(m.fd, name)) : undefined;
      if (abs && !st) this.add(m, 'entry-missing', rel, `${kindWord(kind)} is missing`);
      switch (kind) {
        case Kind.File:
          this.file(m, tree, row, rel, st);
          break;
        case Kind.Dir: {
          const subtree = row[ROW.subtree];
          if (subtree === null || !row[ROW.hasTree]) {
            this.add(m, 'catalog-invariant', rel, 'folder without a tree record in the catalog');
            break;
          }
          const inner = m.guard.tryEnter(subtree, rel);
          if (typeof inner === 'string') {
            this.add(m, 'catalog-invariant', rel, `the catalog's folders ${inner}`);
            break;
          }
          const child: Member = { snap: m.snap, check: m.check, guard: inner, abs: undefined, size: 0n };
          if (st && !st.isDirectory()) this.add(m, 'entry-kind', rel, `expected a folder, found ${kindOfStat(st)}`);
          else if (st) {
            const d = drift(st, rowMeta(row), this.ctx.owners, true);
            if (d.length) this.add(m, 'entry-metadata', rel, d.join(', '));
            const x = folderXattrsProblem(this.ctx.root, abs!, st, row[ROW.xattrs].length ? row[ROW.xattrs] : undefined);
            if (x) this.add(m, 'entry-xattrs', rel, x);
            child.abs = abs;
            child.size = st.size;
            child.parentFd = m.fd;
            child.name = name;
          }
          children.push(child);
          break;
        }
        case Kind.Symlink: {
          const want = row[ROW.target];
          if (want === null) {
            this.add(m, 'catalog-invariant', rel, 'symlink without a target in the catalog');
            break;
          }
          if (!st) break;
          if (!st.isSymbolicLink()) {
            this.add(m, 'entry-kind', rel, `expected a symlink, found ${kindOfStat(st)}`);
            break;
          }
          let target: Buffer;
          try {
            target = fs.readlinkSync(abs!, { encoding: 'buffer' });
          } catch (e) {
            if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'EINVAL') throw e;
            this.add(m, 'entry-missing', rel, 'the symlink vanished while being checked');
            break;
          }
          if (!target.equals(want)) this.add(m, 'symlink-target', rel, `points to ${JSON.stringify(showName(target))}, expected ${JSON.stringify(showName(want))}`);
          const d = drift(st, rowMeta(row), this.ctx.owners, false);
          if (d.length) this.add(m, 'entry-metadata', rel, d.join(', '));
          break;
        }
        default:
          this.add(m, 'catalog-invariant', rel, `unknown entry kind ${String(kind)} in the catalog`);
      }
    }
  }

  private file(m: Member, tree: number, row: FolderEntryRow, rel: Buffer, st: Lstat | undefined): void {
    if (!row[ROW.hashOk]) {
      this.add(m, 'catalog-invariant', rel, 'file without a valid content hash in the catalog');
      return;
    }
    const rid = row[ROW.rid];
    const damage = rid === null ? undefined : this.damageByRid.get(rid);
    if (damage) {
      damage.refs.push({ snapshot: m.snap.name, rel });
      if (damage.kinds[0] === 'catalog-invariant') this.ctx.unrebuildable.add(m.snap.name);
    }
    if (!st) return;
    if (!st.isFile()) {
      this.add(m, 'entry-kind', rel, `expected a file, found ${kindOfStat(st)}`);
      return;
    }
    if (this.ctx.inodes.holds(rid, st)) return;
    // Not the inode the object check saw (or it saw none): ask the file system, every replica.
    const e = this.ctx.root.catalog.treeEntry(tree, row[ROW.name]);
    const key = e && fileKey(e);
    if (!key) return;
    // Without an object file there is no inode to compare with: the object finding covers this
    // path, and a repair re-links it once the object is healed.
    const same = sameInodeAsObject(this.ctx.root, key, st);
    if (same === undefined) return;
    if (!same) {
      const size = Number(st.size) === e.size ? ' (same size)' : ` (${st.size} bytes, expected ${e.size})`;
      this.add(m, 'entry-replaced', rel, `not a hard link to its stored object: another file was put here${size}`, false);
      this.ctx.replaced.push({ snapshot: m.snap.name, rel, key });
    }
  }
}

/**
 * Whether `st` is the inode of the object (any of its link-limit replicas): undefined when no
 * replica file exists to compare with. Asks the file system (an lstat per replica): asked only
 * when the inode the object check recorded is not `st` (object-inodes.ts).
 */
function sameInodeAsObject(root: Root, key: ObjectKey, st: Lstat): boolean | undefined {
  let any = false;
  for (let r = 0; ; r++) {
    const o = lstatOrUndefined(objectPath(root.layout, key, r));
    if (!o) return any ? false : undefined;
    if (!o.isFile()) continue;
    any = true;
    if (o.ino === st.ino && o.dev === st.dev) return true;
  }
}

/**
 * Check the dated folders of the snapshots with `check`, and walk the catalog of the others to
 * map damaged objects to their paths. Findings, re-links and object paths come out per snapshot
 * in the order of `snaps`, each in walk order, as if the snapshots had been walked one by one.
 */
export async function checkFolders(ctx: FolderCheckContext, snaps: readonly SnapshotToWalk[]): Promise<void> {
  const walk = new FolderWalk(ctx);
  const members = snaps.map((s) => walk.member(s));
  if (members.length) await walk.folder(Buffer.alloc(0), members);
  const order = new Map(snaps.map((s, i) => [s.snap.name, i]));
  const bySnapshot = (a: { snapshot: string }, b: { snapshot: string }) => order.get(a.snapshot)! - order.get(b.snapshot)!;
  ctx.findings.sort((a, b) => order.get(a.snapshots[0]!)! - order.get(b.snapshots[0]!)!);
  ctx.replaced.sort(bySnapshot);
  for (const d of ctx.objectDamage.values()) d.refs.sort(bySnapshot);
}

/** Fill the snapshots and paths of every object finding from the refs the walks collected. */
export function attachObjectPaths(damage: Iterable<ObjectDamage>): void {
  for (const d of damage) {
    const snaps = new Set<string>();
    const paths: string[] = [];
    for (const r of d.refs) {
      snaps.add(r.snapshot);
      if (paths.length < MAX_PATHS_PER_FINDING) paths.push(snapshotPath(r.snapshot, r.rel));
    }
    d.finding.snapshots = [...snaps];
    d.finding.paths = paths;
    if (d.refs.length > paths.length) d.finding.morePaths = d.refs.length - paths.length;
  }
}

/**
 * Comparing a snapshot's dated folder with its manifest: walk the catalog's tree and the folder
 * side by side, and report missing, extra, replaced and changed paths. The same walk maps the
 * damaged objects found by verify-objects.ts to every snapshot path that shares them.
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
import { Kind, type Entry, type EntryMeta } from '../../model/entry.js';
import { objectName, objectPath } from '../../store/layout.js';
import { nsToUs, objectKeyOf, type ObjectKey } from '../../model/object-key.js';
import { HASH_BYTES } from '../../store/hasher.js';
import { isSafeName, joinPath, showName } from '../../util/paths.js';
import { errnoCode } from '../../errors.js';
import { TreeGuard, snapshotPath } from '../shared/snapshot-tree.js';
import { MAX_PATHS_PER_FINDING, type DamageKind, type Finding, type ObjectDamage, type ReplacedEntry } from './types.js';
import { lstatOrUndefined } from '../../util/fs.js';
import { folderXattrsProblem } from './check-xattrs.js';


export interface FolderCheckContext {
  root: Root;
  owners: boolean;
  /** objectName → damage found by the object check (refs are added here). */
  objectDamage: Map<string, ObjectDamage>;
  /** objectName → dev:ino of its replica files. */
  findings: Finding[];
  replaced: ReplacedEntry[];
  /** Snapshots with damage that a rebuild of the dated folder repairs. */
  folderDamaged: Set<string>;
  /** Snapshots whose manifest itself is broken: they cannot be rebuilt. */
  unrebuildable: Set<string>;
  entries: number;
}


function oct(m: number): string {
  return '0' + m.toString(8).padStart(3, '0');
}

function iso(us: bigint): string {
  return new Date(Number(us / 1000n)).toISOString();
}

function kindOfStat(st: fs.BigIntStats): string {
  return st.isFile() ? 'a file' : st.isDirectory() ? 'a folder' : st.isSymbolicLink() ? 'a symlink' : 'a special file';
}

function kindWord(k: Kind): string {
  return k === Kind.File ? 'a file' : k === Kind.Dir ? 'a folder' : 'a symlink';
}

/** Differences between a folder's or symlink's inode and its recorded metadata. */
function drift(st: fs.BigIntStats, meta: EntryMeta, owners: boolean, withMode: boolean): string[] {
  const out: string[] = [];
  const mode = Number(st.mode & 0o7777n);
  if (withMode && mode !== meta.mode) out.push(`mode ${oct(mode)}, expected ${oct(meta.mode)}`);
  const us = nsToUs(st.mtimeNs);
  const want = nsToUs(meta.mtimeNs);
  if (us !== want) out.push(`mtime ${iso(us)}, expected ${iso(want)}`);
  if (owners && (Number(st.uid) !== meta.uid || Number(st.gid) !== meta.gid)) out.push(`owner ${st.uid}:${st.gid}, expected ${meta.uid}:${meta.gid}`);
  return out;
}

function fileKey(e: Entry): ObjectKey | undefined {
  if (!e.hash || e.hash.length !== HASH_BYTES) return undefined;
  return objectKeyOf(e.hash, e);
}

class SnapshotWalk {
  constructor(
    private readonly ctx: FolderCheckContext,
    private readonly snap: SnapshotRow,
  ) {}

  private add(kind: DamageKind, rel: Buffer, message: string, rebuild = true): void {
    this.ctx.findings.push({ kind, severity: 'damage', snapshots: [this.snap.name], paths: [snapshotPath(this.snap.name, rel)], message });
    if (kind === 'catalog-invariant') this.ctx.unrebuildable.add(this.snap.name);
    else if (rebuild) this.ctx.folderDamaged.add(this.snap.name);
  }

  /** The top folder: present, a real folder, with the recorded metadata. Returns its path. */
  top(checkDisk: boolean): Buffer | undefined {
    if (!checkDisk) return undefined;
    const abs = Buffer.from(path.join(this.ctx.root.layout.root, this.snap.name));
    const st = lstatOrUndefined(abs);
    if (!st) {
      this.add('folder-missing', Buffer.alloc(0), 'the dated folder is missing');
      return undefined;
    }
    if (!st.isDirectory()) {
      this.add('folder-missing', Buffer.alloc(0), `the dated folder is ${kindOfStat(st)}, not a folder`);
      return undefined;
    }
    const meta = { mode: this.snap.rootMode, uid: this.snap.rootUid, gid: this.snap.rootGid, mtimeNs: this.snap.rootMtimeNs };
    const d = drift(st, meta, this.ctx.owners, true);
    if (d.length) this.add('entry-metadata', Buffer.alloc(0), d.join(', '));
    const x = folderXattrsProblem(this.ctx.root, abs, st, this.snap.rootXattrs);
    if (x) this.add('entry-xattrs', Buffer.alloc(0), x);
    return abs;
  }

  /**
   * Walk the tree of `guard` (the folder at `rel`); `abs` is its folder on disk, or undefined
   * when only the catalog is walked (folder missing, or not a folder, or not selected for checking).
   */
  walk(guard: TreeGuard, rel: Buffer, abs: Buffer | undefined): void {
    const { catalog } = this.ctx.root;
    const entries = catalog.treeEntries(guard.tree);
    let onDisk: Map<string, Buffer> | undefined;
    if (abs) {
      try {
        const names = fs.readdirSync(abs, { encoding: 'buffer' });
        onDisk = new Map();
        for (const n of names) onDisk.set(n.toString('latin1'), n);
      } catch (e) {
        // Moved away since its lstat (a prune while a lock-free verify runs; such findings are
        // dropped at the end when the snapshot is gone) or replaced by a non-folder.
        if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e;
        this.add(rel.length === 0 ? 'folder-missing' : 'entry-missing', rel, 'the folder vanished while being checked');
        abs = undefined;
      }
    }
    for (const e of entries) {
      if (!isSafeName(e.name)) {
        this.add('catalog-invariant', joinPath(rel, Buffer.from(showName(e.name))), `unsafe name ${JSON.stringify(showName(e.name))} in the catalog`);
        continue;
      }
      const childRel = joinPath(rel, e.name);
      const present = onDisk?.delete(e.name.toString('latin1')) ?? false;
      const childAbs = abs && present ? joinPath(abs, e.name) : undefined;
      this.ctx.entries++;
      if (abs && !present) this.add('entry-missing', childRel, `${kindWord(e.kind)} is missing`);
      const st = childAbs ? lstatOrUndefined(childAbs) : undefined;
      if (childAbs && !st) this.add('entry-missing', childRel, `${kindWord(e.kind)} is missing`);
      switch (e.kind) {
        case Kind.File:
          this.file(e, childRel, st);
          break;
        case Kind.Dir: {
          if (e.subtree === undefined || catalog.treeTotals(e.subtree) === undefined) {
            this.add('catalog-invariant', childRel, 'folder without a tree record in the catalog');
            break;
          }
          const inner = guard.tryEnter(e.subtree, childRel);
          if (typeof inner === 'string') {
            this.add('catalog-invariant', childRel, `the catalog's folders ${inner}`);
            break;
          }
          let next: Buffer | undefined;
          if (st && !st.isDirectory()) this.add('entry-kind', childRel, `expected a folder, found ${kindOfStat(st)}`);
          else if (st) {
            const d = drift(st, e, this.ctx.owners, true);
            if (d.length) this.add('entry-metadata', childRel, d.join(', '));
            const x = folderXattrsProblem(this.ctx.root, childAbs!, st, e.xattrs);
            if (x) this.add('entry-xattrs', childRel, x);
            next = childAbs;
          }
          this.walk(inner, childRel, next);
          break;
        }
        case Kind.Symlink: {
          if (!e.target) {
            this.add('catalog-invariant', childRel, 'symlink without a target in the catalog');
            break;
          }
          if (!st) break;
          if (!st.isSymbolicLink()) {
            this.add('entry-kind', childRel, `expected a symlink, found ${kindOfStat(st)}`);
            break;
          }
          let target: Buffer;
          try {
            target = fs.readlinkSync(childAbs!, { encoding: 'buffer' });
          } catch (e) {
            if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'EINVAL') throw e;
            this.add('entry-missing', childRel, 'the symlink vanished while being checked');
            break;
          }
          if (!target.equals(e.target)) this.add('symlink-target', childRel, `points to ${JSON.stringify(showName(target))}, expected ${JSON.stringify(showName(e.target))}`);
          const d = drift(st, e, this.ctx.owners, false);
          if (d.length) this.add('entry-metadata', childRel, d.join(', '));
          break;
        }
        default:
          this.add('catalog-invariant', childRel, `unknown entry kind ${String(e.kind)} in the catalog`);
      }
    }
    if (onDisk) for (const extra of onDisk.values()) this.add('entry-extra', joinPath(rel, extra), 'not in the snapshot’s manifest');
  }

  private file(e: Entry, rel: Buffer, st: fs.BigIntStats | undefined): void {
    const key = fileKey(e);
    if (!key) {
      this.add('catalog-invariant', rel, 'file without a valid content hash in the catalog');
      return;
    }
    const name = objectName(key);
    const damage = this.ctx.objectDamage.get(name);
    if (damage) {
      damage.refs.push({ snapshot: this.snap.name, rel });
      if (damage.kinds[0] === 'catalog-invariant') this.ctx.unrebuildable.add(this.snap.name);
    }
    if (!st) return;
    if (!st.isFile()) {
      this.add('entry-kind', rel, `expected a file, found ${kindOfStat(st)}`);
      return;
    }
    // Without an object file there is no inode to compare with: the object finding covers this
    // path, and a repair re-links it once the object is healed.
    const same = sameInodeAsObject(this.ctx.root, key, st);
    if (same === undefined) return;
    if (!same) {
      const same = Number(st.size) === e.size ? ' (same size)' : ` (${st.size} bytes, expected ${e.size})`;
      this.add('entry-replaced', rel, `not a hard link to its stored object: another file was put here${same}`, false);
      this.ctx.replaced.push({ snapshot: this.snap.name, rel, key });
    }
  }
}

/**
 * Whether `st` is the inode of the object (any of its link-limit replicas): undefined when no
 * replica file exists to compare with. Asks the file system (an lstat per replica) rather than
 * holding every object's inode in memory, which cost ~170 bytes per object at a million.
 */
function sameInodeAsObject(root: Root, key: ObjectKey, st: fs.BigIntStats): boolean | undefined {
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
 * Check one snapshot. `checkDisk` false walks the catalog only (to map damaged objects to
 * paths) without looking at the dated folder.
 */
export function checkSnapshot(ctx: FolderCheckContext, snap: SnapshotRow, checkDisk: boolean): void {
  const w = new SnapshotWalk(ctx, snap);
  const abs = w.top(checkDisk);
  w.walk(TreeGuard.top(snap.name, snap.rootTree), Buffer.alloc(0), abs);
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

/**
 * `snap restore`: copy a file, a folder or a whole snapshot out of the catalog and the store as
 * independent files with their metadata (mode, mtime to the µs, owner when running as root,
 * symlinks as symlinks, empty folders, byte-exact names).
 *
 * Never a hard link into the store: a restored file is a fresh inode, so editing it can never
 * change history. Content is read from the objects and its BLAKE3 checked while copying.
 *
 * Where it goes (like `cp -a`): when `to` is an existing folder the item is created inside it
 * under its own name (the snapshot's name for a whole snapshot); otherwise `to` is the new name.
 * Without `force` the target must not exist: it is created fresh (mkdir / O_EXCL), every folder
 * below it is made by us with mode 0700 until complete, files are opened O_EXCL|O_NOFOLLOW, so
 * nothing is ever written through a symlink. A failed restore without `force` removes what it
 * created, leaving no half-restored target.
 *
 * With `force` the target is merged into: paths the snapshot has are written, replacing a file
 * or symlink in the way (written beside it and renamed over it, so never written through);
 * existing real folders are reused; a symlink or file where the snapshot has a folder is
 * replaced by a fresh folder; a folder where the snapshot has a file or symlink stops the
 * restore (linksnap never deletes a folder of yours); paths the snapshot lacks are left alone.
 *
 * With `delete` (which implies `force`) the target is made equal to the snapshot's path: what
 * the snapshot lacks below the target is removed, a folder where the snapshot has a file or
 * symlink too — never anything outside the target, never through a symlink, and never a target
 * holding the backups or the live data (restore-delete.ts). With `dryRun` too, nothing is
 * written: the paths it would remove are listed.
 *
 * Read-only on the root: takes no lock.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openRoot, type Root } from '../shared/root.js';
import { TreeGuard, getSnapshotOrThrow, lookupPath } from '../shared/snapshot-tree.js';
import { finishDir, setFileXattrs, type RefusedXattr } from '../shared/place.js';
import { recordedXattrs } from '../shared/object-placer.js';
import { Warnings, type Warning } from '../shared/warnings.js';
import { copyVerified } from './restore-copy.js';
import { Kind, type Entry, type EntryMeta } from '../../model/entry.js';
import { objectKeyOf } from '../../model/object-key.js';
import { nsToUtimeArg } from '../../store/times.js';
import { assertSafeName, joinPath, showName, splitRelative, toBuf } from '../../util/paths.js';
import { SnapError, errnoCode, wrapFsError } from '../../errors.js';
import { Limiter, allSettledOrThrow } from '../../util/limit.js';
import { lstatOrUndefined } from '../../util/fs.js';
import { checkDeleteTarget, removeExtras, type Removal } from './restore-delete.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
/** Files and symlinks of one folder restored at a time (and catalog entries read per page). */
const LEAF_PAGE = 1024;

export interface RestoreProgress {
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
}

export interface RestoreOptions {
  /** Path inside the snapshot (bytes or a string); empty or undefined: the whole snapshot. */
  path?: string | Buffer;
  /** Destination (see the module comment for where exactly the item lands). */
  to: string;
  force?: boolean;
  /** Remove what the snapshot does not have below the target (implies force). */
  delete?: boolean;
  /** With delete: change nothing, list what would be removed. */
  dryRun?: boolean;
  onProgress?: (p: RestoreProgress) => void;
  /** Test seams (test/security): called just before a destination file is created and opened. */
  testHooks?: { beforeOpen?: (dest: Buffer) => void };
}

export interface RestoreResult {
  snapshot: string;
  /** The restored path inside the snapshot, printable ('.' for the whole snapshot). */
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  /** The restored file or folder (absolute, printable). */
  target: string;
  /** The same as bytes, for callers that need the exact path. */
  targetBytes: Buffer;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Files and symlinks that replaced something already there (only with force). */
  replaced: number;
  /** Extended attributes the target refused (another file system, trusted.* as non-root): restored without them. */
  warnings: Warning[];
  /** With delete: the paths removed (with dryRun: that would be), contents before their folder. */
  removed: string[];
  /** Nothing was written (dryRun). */
  dryRun: boolean;
  seconds: number;
}

interface Ctx {
  root: Root;
  limiter: Limiter;
  force: boolean;
  /** Remove what the snapshot lacks (restore --delete). */
  del: boolean;
  removal: Removal;
  beforeOpen?: (dest: Buffer) => void;
  result: RestoreResult;
  warnings: Warnings;
  progress: RestoreProgress;
  onProgress?: (p: RestoreProgress) => void;
}

/** A short name beside `target` for writing a replacement before renaming it into place. */
function besideName(parent: Buffer): Buffer {
  return joinPath(parent, Buffer.from(`.snap-restore-${randomBytes(6).toString('hex')}`));
}

function splitTarget(target: Buffer): { parent: Buffer; name: Buffer } {
  const i = target.lastIndexOf(0x2f);
  return { parent: target.subarray(0, Math.max(i, 1)), name: target.subarray(i + 1) };
}

async function writeFile(ctx: Ctx, dest: Buffer, entry: Entry, shown: string): Promise<void> {
  const { layout, catalog, asRoot } = ctx.root;
  const key = objectKeyOf(entry.hash!, entry);
  const replicas = catalog.getObject(key)?.replicas ?? 1;
  ctx.beforeOpen?.(dest);
  // O_EXCL: a file (or a hard link to someone else's file) that appeared here is never written to.
  const fh = await fsp.open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await copyVerified(layout, key, entry.size, replicas, fh, shown, (n) => {
      ctx.progress.doneBytes += n;
    });
    // chown first: it clears set-uid/set-gid bits, which chmod then restores.
    if (asRoot) await fh.chown(entry.uid, entry.gid);
    await fh.chmod(entry.mode);
    // After chown (it clears capabilities) and chmod (it rewrites an ACL's mask); by path, as
    // the binding takes no descriptor: `dest` is the file just created O_EXCL in our own folder.
    warnRefused(ctx, shown, setFileXattrs(dest, recordedXattrs(catalog, entry.xattrs), asRoot));
    const t = nsToUtimeArg(entry.mtimeNs);
    await fh.utimes(t, t);
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(dest, { force: true }); // never leave bytes that failed their check
    throw e;
  }
  await fh.close();
}

/** Attributes a target refuses are a warning each (exit 3), never a silent drop. */
function warnRefused(ctx: Ctx, shown: string, refused: readonly RefusedXattr[]): void {
  for (const r of refused) {
    const why = r.code === 'EILSEQ' ? 'the path is not valid UTF-8, which the attribute module cannot pass' : `refused by the target: ${r.code}`;
    ctx.warnings.add('xattrs', Buffer.from(shown), `extended attribute ${r.name} not restored (${why})`);
  }
}

async function writeSymlink(ctx: Ctx, dest: Buffer, entry: Entry): Promise<void> {
  await fsp.symlink(entry.target!, dest);
  if (ctx.root.asRoot) await fsp.lchown(dest, entry.uid, entry.gid);
  const t = nsToUtimeArg(entry.mtimeNs);
  await fsp.lutimes(dest, t, t);
}

/** A file or symlink at `dest`: fresh, or (force) written beside and renamed over what is there. */
async function putLeaf(ctx: Ctx, dest: Buffer, entry: Entry, shown: string): Promise<void> {
  const write = (p: Buffer) => (entry.kind === Kind.File ? writeFile(ctx, p, entry, shown) : writeSymlink(ctx, p, entry));
  if (!ctx.force) {
    await write(dest);
  } else {
    const existing = lstatOrUndefined(dest);
    if (existing?.isDirectory()) {
      throw new SnapError('EXISTS', `${showName(dest)} is a folder, but the snapshot has a ${entry.kind === Kind.File ? 'file' : 'symlink'} there`, {
        hint: 'move that folder away and run the restore again (linksnap never deletes a folder of yours)',
      });
    }
    const tmp = besideName(splitTarget(dest).parent);
    await write(tmp);
    try {
      await fsp.rename(tmp, dest); // replaces a file or symlink; never writes through it
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    if (existing) ctx.result.replaced++;
  }
  if (entry.kind === Kind.File) {
    ctx.result.files++;
    ctx.result.bytes += entry.size;
  } else ctx.result.symlinks++;
  ctx.progress.doneItems++;
  ctx.onProgress?.({ ...ctx.progress });
}

/** Make the folder `dest` (fresh; with force an existing real folder is reused). */
async function makeFolder(ctx: Ctx, dest: Buffer): Promise<void> {
  if (ctx.force) {
    const existing = lstatOrUndefined(dest);
    if (existing?.isDirectory()) {
      await fsp.chmod(dest, Number(existing.mode & 0o7777n) | 0o700); // we must be able to fill it
      return;
    }
    if (existing) {
      await fsp.rm(dest, { force: true }); // a file or symlink where the snapshot has a folder
      ctx.result.replaced++;
    }
  }
  await fsp.mkdir(dest, { mode: 0o700 });
}

/** Fill the folder `dest` with the tree of `guard` (the folder at `rel`), then give it `meta`. */
async function putDir(ctx: Ctx, dest: Buffer, meta: EntryMeta & { xattrs?: Buffer }, guard: TreeGuard, rel: Buffer): Promise<void> {
  // Files and symlinks of a folder concurrently, a page of entries at a time (I/O latency
  // dominates small files); subfolders after them, one after another, depth first, so memory
  // follows depth and a page, not tree or folder size.
  const subfolders: Entry[] = [];
  let page: Entry[] = [];
  const putPage = () =>
    allSettledOrThrow(page.splice(0), (child) => ctx.limiter.run(() => putLeaf(ctx, joinPath(dest, child.name), child, showName(joinPath(rel, child.name)))));
  if (ctx.del) removeExtras(dest, keepFor(ctx.root.catalog.treeEntriesPaged(guard.tree)), false, ctx.removal);
  for (const child of ctx.root.catalog.treeEntriesPaged(guard.tree, LEAF_PAGE)) {
    assertSafeName(child.name, `tree ${guard.tree}`);
    if (child.kind === Kind.Dir) subfolders.push(child);
    else if (page.push(child) >= LEAF_PAGE) await putPage();
  }
  await putPage();
  for (const child of subfolders) {
    const childRel = joinPath(rel, child.name);
    const inner = guard.enter(child.subtree, childRel); // a cycle or absurd depth: UNSAFE_PATH, before anything is made
    const childDest = joinPath(dest, child.name);
    await makeFolder(ctx, childDest);
    await putDir(ctx, childDest, child, inner, childRel);
  }
  warnRefused(ctx, showName(rel) || '.', await finishDir(dest, meta, ctx.root.asRoot, recordedXattrs(ctx.root.catalog, meta.xattrs)));
  ctx.result.dirs++;
}

/**
 * What --delete keeps in a folder: the names the snapshot has there, except a folder where the
 * snapshot has a file or symlink (removed, so that the file can take its place).
 */
function keepFor(children: Iterable<Pick<Entry, 'name' | 'kind'>>): (name: Buffer, st: fs.BigIntStats) => boolean {
  const want = new Map(Array.from(children, (c) => [c.name.toString('latin1'), c.kind] as const));
  return (name, st) => {
    const kind = want.get(name.toString('latin1'));
    return kind !== undefined && (kind === Kind.Dir || !st.isDirectory());
  };
}

/** restore --delete --dry-run: list what would be removed below `dest`, writing nothing. */
function listDeletions(ctx: Ctx, dest: Buffer, guard: TreeGuard, rel: Buffer): void {
  const children = ctx.root.catalog.treeEntries(guard.tree);
  for (const child of children) assertSafeName(child.name, `tree ${guard.tree}`);
  removeExtras(dest, keepFor(children), true, ctx.removal);
  for (const child of children) {
    if (child.kind !== Kind.Dir) continue;
    const childDest = joinPath(dest, child.name);
    if (!lstatOrUndefined(childDest)?.isDirectory()) continue;
    const childRel = joinPath(rel, child.name);
    listDeletions(ctx, childDest, guard.enter(child.subtree, childRel), childRel);
  }
}

/** Where the item lands: inside `to` when it is an existing folder, else at `to`. */
function resolveTarget(to: string, name: Buffer): Buffer {
  if (!to) throw new SnapError('USAGE', 'missing --to <dest>', { hint: 'say where to restore to, e.g. --to /tmp/restored' });
  const abs = path.resolve(to);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs); // the user's own path: a symlink they name is theirs to follow
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw wrapFsError(e, `looking at ${abs}`);
  }
  if (st?.isDirectory()) return joinPath(Buffer.from(abs), name);
  const parent = path.dirname(abs);
  const pst = fs.statSync(parent, { throwIfNoEntry: false });
  if (!pst?.isDirectory()) {
    throw new SnapError('USAGE', `cannot restore to ${abs}: the folder ${parent} does not exist`, { hint: `create it first: mkdir -p ${parent}` });
  }
  return Buffer.from(abs);
}

/** Remove what a failed non-force restore created (folders may be 0500 by then). */
async function removeCreated(p: Buffer): Promise<void> {
  const st = lstatOrUndefined(p);
  if (!st) return;
  if (st.isDirectory()) {
    await fsp.chmod(p, 0o700);
    for (const n of await fsp.readdir(p, { encoding: 'buffer' })) await removeCreated(joinPath(p, n));
    await fsp.rmdir(p);
  } else await fsp.rm(p, { force: true });
}

export async function restore(rootArg: string, snapshotName: string, opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = process.hrtime.bigint();
  const root = openRoot(rootArg, { readonly: true });
  try {
    const snap = getSnapshotOrThrow(root.catalog, path.basename(snapshotName)); // a folder path works too
    const parts = splitRelative(toBuf(opts.path ?? ''));
    const relBytes = Buffer.from(parts.map((p) => p.toString('latin1')).join('/'), 'latin1');
    const entry = lookupPath(root.catalog, snap, parts);
    if (!entry) {
      throw new SnapError('USAGE', `snapshot ${snap.name} has no ${showName(relBytes)}`, {
        hint: `see where it exists: snap log ${root.layout.root} ${showName(relBytes)}  (or search: snap find ${root.layout.root} '<glob>')`,
      });
    }
    const name = parts.length > 0 ? parts[parts.length - 1]! : Buffer.from(snap.name);
    const target = resolveTarget(opts.to, name);
    const del = opts.delete ?? false;
    const force = (opts.force ?? false) || del;
    if (opts.dryRun && !del) throw new SnapError('USAGE', '--dry-run goes with --delete: it lists what --delete would remove', { hint: 'add --delete, or leave out --dry-run' });
    if (del) checkDeleteTarget(root.layout.root, target);
    const existing = lstatOrUndefined(target);
    if (existing && !force) {
      throw new SnapError('EXISTS', `${showName(target)} already exists`, {
        hint: 'choose another --to, or pass --force to merge into it (files in the way are replaced, nothing else is deleted)',
      });
    }
    const kind = entry.kind === Kind.File ? 'file' : entry.kind === Kind.Dir ? 'dir' : 'symlink';
    const totals = entry.kind === Kind.Dir ? root.catalog.treeTotals(entry.subtree!) : undefined;
    const result: RestoreResult = {
      snapshot: snap.name,
      path: showName(relBytes) || '.',
      kind,
      target: showName(target),
      targetBytes: target,
      files: 0,
      dirs: 0,
      symlinks: 0,
      bytes: 0,
      replaced: 0,
      warnings: [],
      removed: [],
      dryRun: opts.dryRun ?? false,
      seconds: 0,
    };
    const ctx: Ctx = {
      root,
      limiter: new Limiter(16),
      force,
      del,
      removal: { paths: result.removed },
      beforeOpen: opts.testHooks?.beforeOpen,
      result,
      warnings: new Warnings(),
      progress: {
        doneBytes: 0,
        doneItems: 0,
        totalBytes: totals ? totals.bytes : entry.kind === Kind.File ? entry.size : 0,
        totalItems: totals ? totals.files : 1,
      },
      onProgress: opts.onProgress,
    };
    // A folder at the target where the snapshot has a file or symlink: --delete removes it.
    const removeTopFolder = (dryRun: boolean) => {
      if (!existing?.isDirectory() || entry.kind === Kind.Dir) return;
      const { parent, name: targetName } = splitTarget(target);
      removeExtras(parent, (n) => !n.equals(targetName), dryRun, ctx.removal);
    };
    if (opts.dryRun) {
      removeTopFolder(true);
      if (entry.kind === Kind.Dir && existing?.isDirectory()) listDeletions(ctx, target, TreeGuard.top(snap.name, entry.subtree!, parts.length), relBytes);
      result.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      return result;
    }
    let madeTop = false; // only what we created is removed after a failure
    try {
      if (del) removeTopFolder(false);
      if (entry.kind === Kind.Dir) {
        if (entry.subtree === undefined) throw new SnapError('CATALOG', `folder ${result.path} of ${snap.name} has no tree record`);
        const guard = TreeGuard.top(snap.name, entry.subtree, parts.length);
        await makeFolder(ctx, target);
        madeTop = !force;
        await putDir(ctx, target, entry, guard, relBytes);
      } else await putLeaf(ctx, target, entry, showName(relBytes));
    } catch (e) {
      if (madeTop) await removeCreated(target).catch(() => {});
      if (errnoCode(e) === 'EEXIST') {
        throw new SnapError('EXISTS', `${showName(target)} appeared while restoring`, { hint: 'choose another --to, or pass --force' });
      }
      throw wrapFsError(e, `restoring to ${showName(target)}`);
    }
    result.warnings = ctx.warnings.list;
    result.seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return result;
  } finally {
    root.close();
  }
}

/**
 * Opening a backup root: check <root> and every folder of <root>/.snap, create the store on first
 * use, open the catalog. Every op starts here, so a store folder that is a symlink, not a folder,
 * or someone else's stops every command (UNSAFE_STORE, exit 6) before it reads or writes there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Catalog } from '../../catalog/catalog.js';
import { acquireLock, type LockHandle } from '../../catalog/lock.js';
import { isFanOutName, layoutFor, type StoreLayout } from '../../store/layout.js';
import { SnapError, errnoCode } from '../../errors.js';
import { listDir, lstatOrUndefined } from '../../util/fs.js';

export interface Root {
  layout: StoreLayout;
  catalog: Catalog;
  /** Running as root: owners are restored (chown); otherwise files belong to the running user. */
  asRoot: boolean;
  close(): void;
}

export interface OpenRootOptions {
  /** Create .snap when it does not exist (take, init); otherwise a missing store is an error. */
  create?: boolean;
  readonly?: boolean;
}

export function resolveRoot(rootArg: string): string {
  if (!rootArg) throw new SnapError('USAGE', 'missing <root> argument');
  const root = path.resolve(rootArg);
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new SnapError('BAD_ROOT', `backup root ${root} does not exist`, { hint: `create it: mkdir -p ${root}` });
    }
    throw new SnapError('BAD_ROOT', `cannot access backup root ${root}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new SnapError('BAD_ROOT', `backup root ${root} is not a directory`);
  return root;
}

/**
 * Who may own what is in .snap: the user running linksnap, or root. A folder someone else owns
 * could be swapped for a symlink between our check and our use of it; root is trusted anyway.
 * So root only uses a store root owns, and a user a store of their own (or one root made).
 */
function ownerProblem(st: fs.BigIntStats): string | undefined {
  const euid = BigInt(process.geteuid?.() ?? 0);
  if (st.uid === euid || st.uid === 0n) return undefined;
  return `belongs to uid ${st.uid}, not to uid ${euid} who runs linksnap${euid === 0n ? '' : ' (or root)'}`;
}

function kindOf(st: fs.BigIntStats): string {
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a folder';
  if (st.isFile()) return 'a file';
  return 'a special file';
}

function unsafe(p: string, what: string, fix: string): SnapError {
  return new SnapError('UNSAFE_STORE', `${p} ${what}`, {
    hint: `linksnap never follows a symlink or uses anything it did not make in its store; ${fix} (docs/operations.md, "A store folder is refused")`,
  });
}

/** lstat a path of the store; undefined when missing. A permission problem is one line, not a trace. */
function lstatStorePath(p: string): fs.BigIntStats | undefined {
  try {
    return lstatOrUndefined(p);
  } catch (e) {
    if (errnoCode(e) !== 'EACCES') throw e;
    throw new SnapError('IO', `cannot access ${p}: permission denied`, { hint: 'run linksnap as the user who owns the store', cause: e });
  }
}

/** A folder of the store must be a real folder (never a symlink), owned by us or root. */
function checkStoreFolder(p: string, st: fs.BigIntStats): void {
  if (!st.isDirectory()) {
    throw unsafe(p, `is ${kindOf(st)}, not a folder linksnap made`, 'move it aside and put back the folder it replaced');
  }
  const owner = ownerProblem(st);
  if (owner) throw unsafe(p, owner, 'run linksnap as the owner of the store, or `chown` it if you trust its contents');
}

/** A file of the store (catalog, lock, marker) must be a regular file, owned by us or root. */
function checkStoreFile(p: string): void {
  const st = lstatStorePath(p);
  if (!st) return;
  if (!st.isFile()) throw unsafe(p, `is ${kindOf(st)}, not a file linksnap made`, 'move it aside');
  const owner = ownerProblem(st);
  if (owner) throw unsafe(p, owner, 'run linksnap as the owner of the store, or `chown` it if you trust its contents');
}

/** Files linksnap keeps directly in .snap: SQLite opens them, and the lock writes lock.owner. */
const STORE_FILES = ['catalog.db', 'catalog.db-wal', 'catalog.db-shm', 'catalog.db-journal', 'lock.db', 'lock.db-journal', 'lock.owner', 'dirty'];

function checkStoreDir(store: string, create: boolean): void {
  let st = lstatStorePath(store);
  if (!st) {
    if (!create) {
      throw new SnapError('NOT_A_STORE', `no linksnap store at ${path.dirname(store)} (${store} is missing)`, {
        hint: `take a first snapshot: snap take ${path.dirname(store)}`,
      });
    }
    // Private: blobs share inodes with snapshot files, so nobody else may reach them through here.
    fs.mkdirSync(store, { mode: 0o700 });
    st = lstatStorePath(store)!;
  }
  checkStoreFolder(store, st);
}

/**
 * Every folder of the store is checked when it is opened — objects, tmp, staging, trash and the
 * fan-out folders objects/<xx> (at most 256) — and the files SQLite and the lock open, so that
 * nothing a command reads, writes or deletes there goes through a symlink or into someone
 * else's folder. Missing folders are made (unless read-only); a bad one refuses the command.
 */
function checkStoreContents(layout: StoreLayout, makeMissing: boolean): void {
  for (const dir of [layout.objects, layout.tmp, layout.staging, layout.trash]) {
    let st = lstatStorePath(dir);
    if (!st && makeMissing) {
      try {
        fs.mkdirSync(dir, { mode: 0o700 });
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      st = lstatStorePath(dir);
    }
    if (st) checkStoreFolder(dir, st);
  }
  for (const name of listDir(layout.objects)) {
    if (!isFanOutName(name)) continue; // not linksnap's: gc reports it, nothing uses it
    const fan = path.join(layout.objects, name);
    const st = lstatStorePath(fan);
    if (st) checkStoreFolder(fan, st);
  }
  for (const name of STORE_FILES) checkStoreFile(path.join(layout.store, name));
}

export function openRoot(rootArg: string, opts: OpenRootOptions = {}): Root {
  const root = resolveRoot(rootArg);
  const layout = layoutFor(root);
  checkStoreDir(layout.store, opts.create ?? false);
  if (!opts.readonly) {
    // Dated folders are hard links into .snap and are renamed from .snap/staging into <root>:
    // both need one file system. A .snap mounted from elsewhere is refused up front.
    if (fs.statSync(layout.store).dev !== fs.statSync(root).dev) {
      throw new SnapError('CROSS_DEVICE', `${layout.store} is on another file system than ${root}`, {
        hint: 'dated folders are hard links into .snap: keep .snap on the same file system as the root',
      });
    }
  }
  checkStoreContents(layout, !opts.readonly);
  if (opts.readonly && !fs.existsSync(layout.catalog)) {
    throw new SnapError('NOT_A_STORE', `no catalog at ${layout.catalog}`, { hint: `take a first snapshot: snap take ${root}` });
  }
  const catalog = Catalog.open(layout.catalog, { readonly: opts.readonly });
  return {
    layout,
    catalog,
    asRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    close: () => catalog.close(),
  };
}

/** Default time to wait for another run's lock before giving up. */
export const DEFAULT_LOCK_WAIT_MS = 10_000;

export function lockRoot(root: Root, command: string, waitMs = DEFAULT_LOCK_WAIT_MS): LockHandle {
  return acquireLock(root.layout.lock, path.join(root.layout.store, 'lock.owner'), command, waitMs);
}

/** Open a root, hold its lock while fn runs, then release and close whatever happens. */
export async function withLockedRoot<T>(
  rootArg: string,
  command: string,
  opts: OpenRootOptions & { waitMs?: number },
  fn: (root: Root) => Promise<T>,
): Promise<T> {
  const root = openRoot(rootArg, opts);
  let lock: LockHandle | undefined;
  try {
    lock = lockRoot(root, command, opts.waitMs);
    return await fn(root);
  } finally {
    lock?.release();
    root.close();
  }
}

/**
 * Opening a backup root: check <root> and <root>/.snap, create the store on first use, open the
 * catalog. Every op starts here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Catalog } from '../../catalog/catalog.js';
import { acquireLock, type LockHandle } from '../../catalog/lock.js';
import { layoutFor, type StoreLayout } from '../../store/layout.js';
import { SnapError, errnoCode } from '../../errors.js';

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

function checkStoreDir(store: string, create: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(store);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw new SnapError('IO', `cannot access ${store}: ${(e as Error).message}`);
    if (!create) {
      throw new SnapError('NOT_A_STORE', `no linksnap store at ${path.dirname(store)} (${store} is missing)`, {
        hint: `take a first snapshot: snap take ${path.dirname(store)}`,
      });
    }
    // Private: blobs share inodes with snapshot files, so nobody else may reach them through here.
    fs.mkdirSync(store, { mode: 0o700 });
    return;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new SnapError('NOT_A_STORE', `${store} is not a directory linksnap made (it is a ${st.isSymbolicLink() ? 'symlink' : 'file'})`, {
      hint: 'linksnap never follows a symlinked store; move it aside',
    });
  }
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
    for (const dir of [layout.objects, layout.tmp, layout.staging, layout.trash]) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
  }
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

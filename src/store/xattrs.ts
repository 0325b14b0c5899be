/**
 * Reading and writing extended attributes through the native binding `@napi-rs/xattr`
 * (docs/decisions.md). Loaded lazily: only `take --xattrs` and roots that recorded attributes
 * need it, and when it cannot load those fail with one line (UNSUPPORTED, exit 2).
 *
 * The binding takes paths as strings and never follows a symlink (l*xattr): it cannot be handed
 * a descriptor, and `/proc/self/fd/<fd>` would name the magic link itself. So:
 *   - a folder is reached through its open descriptor as `/proc/self/fd/<fd>/.` (the last
 *     component is the folder, not a link): no name lookup at all;
 *   - a file through its folder's descriptor, `/proc/self/fd/<dirfd>/<name>`; the caller checks
 *     the inode it read attributes from is the one it looked at (dev/ino), and a name that is
 *     not valid UTF-8 cannot be passed at all (xattrPathOf returns undefined; callers warn);
 *   - objects by their own names (ASCII, in folders only linksnap writes).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { ErrnoError, SnapError, errnoCode } from '../errors.js';
import { isRecordedName, type Xattr } from '../model/xattrs.js';

interface Binding {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
  setAttributeSync(path: string, name: string, value: Uint8Array): void;
  removeAttributeSync(path: string, name: string): void;
}

let binding: Binding | undefined;

/** The binding, loaded on first use; a one-line SnapError when it cannot load on this system. */
export function xattrBinding(): Binding {
  if (binding) return binding;
  if (process.env.LINKSNAP_TEST_NO_XATTR_BINDING === '1') throw unavailable('disabled for a test (LINKSNAP_TEST_NO_XATTR_BINDING=1)');
  try {
    binding = createRequire(import.meta.url)('@napi-rs/xattr') as Binding;
  } catch (e) {
    throw unavailable((e as Error).message.split('\n')[0]!);
  }
  return binding;
}

function unavailable(why: string): SnapError {
  return new SnapError('UNSUPPORTED', `extended attributes cannot be read or written here: the native module @napi-rs/xattr did not load (${why})`, {
    hint: 'reinstall linksnap with `npm ci` on this system (a prebuilt module exists for Linux x64/arm64 glibc and musl), or take without --xattrs',
  });
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** The binding's errors say "… (os error 95)": turn them into errno-coded errors like Node's. */
function asErrno(e: unknown, path: string): unknown {
  const m = /\(os error (\d+)\)/.exec((e as Error)?.message ?? '');
  if (!m) return e;
  const code = ERRNO_NAMES.get(Number(m[1])) ?? 'EIO';
  return new ErrnoError(code, `${code}: ${(e as Error).message.replace(/ \(os error \d+\)$/, '')}: ${path}`, path);
}

/** Codes meaning "this file system (or this file) cannot hold such attributes". */
const NOT_SUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP']);

/**
 * The recorded attributes (model/xattrs.ts isRecordedName) of the file or folder at `path`,
 * in no particular order. A file system without attribute support has none.
 */
export function readXattrs(path: string, asRoot: boolean): Xattr[] {
  const b = xattrBinding();
  let names: string[];
  try {
    names = b.listAttributesSync(path);
  } catch (e) {
    const err = asErrno(e, path);
    if (NOT_SUPPORTED.has(errnoCode(err) ?? '')) return [];
    throw err;
  }
  const out: Xattr[] = [];
  for (const name of names) {
    if (!isRecordedName(name, asRoot)) continue;
    let value: Buffer | null;
    try {
      value = b.getAttributeSync(path, name);
    } catch (e) {
      throw asErrno(e, path);
    }
    if (value !== null) out.push({ name, value: Buffer.from(value) }); // null: removed meanwhile
  }
  return out;
}

/**
 * Give the file or folder at `path` exactly these recorded attributes (others of the recorded
 * kinds are removed). Returns the attributes the target refused (not supported there, or not
 * permitted — trusted.* as non-root), each with its errno code, for the caller to warn about;
 * any other error is thrown. POSIX ACLs also set the permission bits' group class (the mask):
 * callers set them after chmod, and set capabilities after chown (which clears them).
 */
export function writeXattrs(path: string, set: readonly Xattr[], asRoot: boolean): { name: string; code: string }[] {
  const b = xattrBinding();
  const refused: { name: string; code: string }[] = [];
  const wanted = new Set(set.map((a) => a.name));
  for (const name of readXattrs(path, asRoot).map((a) => a.name)) {
    if (wanted.has(name)) continue;
    try {
      b.removeAttributeSync(path, name);
    } catch (e) {
      throw asErrno(e, path);
    }
  }
  for (const a of set) {
    try {
      b.setAttributeSync(path, a.name, a.value);
    } catch (e) {
      const err = asErrno(e, path);
      const code = errnoCode(err) ?? '';
      if (NOT_SUPPORTED.has(code) || code === 'EPERM' || code === 'EACCES') refused.push({ name: a.name, code });
      else throw err;
    }
  }
  return refused;
}

/** The path that reaches an open folder itself through its descriptor. */
export function openFolderPath(fd: number): string {
  return `/proc/self/fd/${fd}/.`;
}

/** `dir` (a string path, e.g. /proc/self/fd/<fd>) joined with a byte name, or undefined when the name is not valid UTF-8. */
export function xattrPathOf(dir: string, name: Buffer): string | undefined {
  const s = name.toString('utf8');
  return Buffer.from(s).equals(name) ? `${dir}/${s}` : undefined;
}

/**
 * Every expected failure is a SnapError with a stable code. Ops throw them; only the CLI maps
 * codes to exit codes (src/cli/exit-codes.ts). The message is one line a user can act on.
 */
export type ErrorCode =
  | 'USAGE' // bad arguments or options
  | 'BAD_ROOT' // the root folder is missing or not a directory
  | 'NO_LATEST' // <root>/.latest is missing or not a directory
  | 'NO_SNAPSHOT' // a named snapshot does not exist in the catalog
  | 'LOCKED' // another linksnap run holds the root's lock
  | 'NO_SPACE' // ENOSPC / EDQUOT while writing
  | 'IO' // any other file-system error on the store or the target
  | 'CATALOG' // the catalog cannot be opened, is newer than this linksnap, or is corrupt
  | 'UNSAFE_PATH' // a path from the catalog or the store would escape its folder or follow a symlink
  | 'NOT_A_STORE' // <root>/.snap is missing
  | 'UNSAFE_STORE' // a store folder (.snap, objects, tmp, staging, trash, a fan-out) is a symlink, not a folder, or someone else's
  | 'EXISTS' // a destination exists and --force was not given
  | 'SOURCE_SHRANK' // .latest is empty or lost too much of the last snapshot (take.max-shrink); nothing was stored
  | 'CROSS_DEVICE' // hard links are impossible (EXDEV) where they are required
  | 'UNSUPPORTED' // a feature this system cannot provide (take --xattrs without the native xattr module)
  | 'HOOK_FAILED' // a take's hooks.pre command failed or timed out; nothing was taken
  | 'BAD_KEY'; // an encrypted replica's passphrase or key file is missing or opens none of its keys

export class SnapError extends Error {
  readonly code: ErrorCode;
  /** What the user should do next, printed after the message. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SnapError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isSnapError(e: unknown): e is SnapError {
  return e instanceof SnapError;
}

/**
 * A system-style error raised by linksnap itself (a worker's failure passed back, a simulated
 * link limit): it carries an errno code like Node's own, so one `errnoCode` check handles both.
 */
export class ErrnoError extends Error {
  readonly code: string;
  readonly path?: string;

  constructor(code: string, message: string, path?: string) {
    super(message);
    this.name = 'ErrnoError';
    this.code = code;
    if (path !== undefined) this.path = path;
  }
}

/** The errno code of a Node system error, or undefined. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

/** A system error from the file system (it carries an errno code), as opposed to a bug. */
export function isFsError(e: unknown): boolean {
  const code = errnoCode(e);
  return code !== undefined && /^E[A-Z0-9]+$/.test(code);
}

/**
 * Turn a system error met while writing into a SnapError, so that a full disk or a permission
 * problem reaches the user as one line instead of a stack trace.
 */
export function wrapFsError(e: unknown, doing: string): unknown {
  if (isSnapError(e)) return e;
  const code = errnoCode(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new SnapError('NO_SPACE', `no space left while ${doing}`, {
      hint: 'free some space (or run `snap prune`/`snap gc`) and run again; nothing committed was lost',
      cause: e,
    });
  }
  if (code === 'EXDEV') {
    return new SnapError('CROSS_DEVICE', `cannot hard-link across file systems while ${doing}`, {
      hint: 'keep the dated folders and <root>/.snap on one file system',
      cause: e,
    });
  }
  if (code === 'SQLITE_FULL') {
    return new SnapError('NO_SPACE', `no space left for the catalog while ${doing}`, {
      hint: 'free some space and run again; the catalog rolled back to its last committed state',
      cause: e,
    });
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new SnapError('CATALOG', `the catalog is damaged (${code}) while ${doing}`, {
      hint: 'run `snap verify <root>`; see docs/operations.md, "Recovering from damage"',
      cause: e,
    });
  }
  // Only file-system and SQLite errors (EACCES, EIO, SQLITE_IOERR, ...) are the user's to fix;
  // anything else (a dying worker thread, ERR_* from Node) is linksnap's own failure and stays
  // an internal error.
  if (isFsError(e) || code?.startsWith('SQLITE_')) {
    const msg = e instanceof Error ? e.message : String(e);
    return new SnapError('IO', `${code} while ${doing}: ${msg}`, { cause: e });
  }
  return e;
}

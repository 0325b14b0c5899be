/**
 * The only place that turns outcomes into exit codes. Stable; documented in docs/cli.md and
 * `snap --help`.
 */
import { isSnapError, wrapFsError, type ErrorCode } from '../errors.js';

export const EXIT = {
  OK: 0,
  DAMAGE: 1, // verify found damage (or repair left some unrepaired)
  UNHEALTHY: 1, // status: no snapshot, too old, the last take failed or the last verify found damage
  USAGE: 2, // bad arguments or bad input (no root, no .latest, unknown snapshot, a source that shrank...)
  WARNINGS: 3, // completed, but some paths were skipped (listed on stderr / in --json)
  LOCKED: 4, // another run holds the root's lock
  IO: 5, // a file-system error: disk full, permission denied on the store, EXDEV...
  STORE: 6, // the catalog or store is unusable or unsafe (corrupt, newer schema, tampered paths)
  HOOK: 7, // take: hooks.pre failed or timed out; nothing was taken
  INTERNAL: 70, // a bug: please report it (EX_SOFTWARE)
} as const;

export const EXIT_HELP = `Exit codes:
  0   success
  1   verify: damage found (or --repair could not repair everything);
      status: unhealthy (no snapshot, too old, last take failed, last verify found damage)
  2   usage error or bad input (missing root or .latest, bad option, unknown snapshot,
      take: a source that is empty or lost more than take.max-shrink; nothing was stored;
      --xattrs where the native extended-attribute module cannot load)
  3   completed with warnings (some paths skipped; they are listed)
  4   another linksnap run holds the lock on this root
  5   file-system error (disk full, permission denied, cross-device link)
  6   the store or catalog is damaged, unsafe or from a newer linksnap
  7   take: the hooks.pre command failed or timed out; nothing was taken
  70  internal error (a bug; please report it with LINKSNAP_DEBUG=1 output)`;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
    case 'BAD_ROOT':
    case 'NO_LATEST':
    case 'NO_SNAPSHOT':
    case 'NOT_A_STORE':
    case 'EXISTS':
    case 'SOURCE_SHRANK': // like a missing .latest: the source is not what it should be
    case 'UNSUPPORTED': // the option cannot be used on this system
    case 'BAD_KEY': // bad input: the wrong passphrase or key file
      return EXIT.USAGE;
    case 'LOCKED':
      return EXIT.LOCKED;
    case 'NO_SPACE':
    case 'IO':
    case 'CROSS_DEVICE':
      return EXIT.IO;
    case 'CATALOG':
    case 'UNSAFE_PATH':
    case 'UNSAFE_STORE':
      return EXIT.STORE;
    case 'HOOK_FAILED':
      return EXIT.HOOK;
  }
}

/** The exit code an error ends the command with (what reportError returns, without printing). */
export function exitCodeOfError(e: unknown): number {
  const err = wrapFsError(e, 'working');
  return isSnapError(err) ? exitCodeFor(err.code) : EXIT.INTERNAL;
}

/** The exit code of an error code recorded in the catalog (a take's run record); unknown: internal. */
export function exitCodeOfRecorded(code: string): number {
  // The switch above has no case for a code this linksnap does not know: undefined.
  return (exitCodeFor(code as ErrorCode) as number | undefined) ?? EXIT.INTERNAL;
}

/**
 * Wraps every command action: runs it, prints an expected error as one line (plus a hint), and
 * sets the exit code. Stack traces only with LINKSNAP_DEBUG=1.
 */
import { isSnapError, wrapFsError } from '../errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

export function reportError(e: unknown, io: Io = processIo): number {
  const err = wrapFsError(e, 'working');
  if (isSnapError(err)) {
    io.err(`snap: ${err.message}\n`);
    if (err.hint) io.err(`  ${err.hint.replace(/\n/g, '\n  ')}\n`);
    if (process.env.LINKSNAP_DEBUG === '1' && err.stack) io.err(err.stack + '\n');
    return exitCodeFor(err.code);
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.err(`snap: internal error: ${msg}\n  this is a bug; please report it with the output of LINKSNAP_DEBUG=1\n`);
  if (process.env.LINKSNAP_DEBUG === '1' && e instanceof Error && e.stack) io.err(e.stack + '\n');
  return EXIT.INTERNAL;
}

/** Run an action; its resolved number is the exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number> | number): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number;
    try {
      code = await fn(...args);
    } catch (e) {
      code = reportError(e);
    }
    process.exitCode = code;
  };
}

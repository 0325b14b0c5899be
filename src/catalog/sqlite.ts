/**
 * The one module that opens SQLite (better-sqlite3). Everything else gets a configured handle
 * from here, so pragmas and error translation live in one place.
 */
import Database from 'better-sqlite3';
import { SnapError } from '../errors.js';

export type Db = Database.Database;
export type Statement = Database.Statement;

export interface OpenOptions {
  readonly?: boolean;
  /** WAL for the catalog (readers never block the writer); the lock file uses the default. */
  wal?: boolean;
  busyTimeoutMs?: number;
}

export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (e) {
    throw new SnapError('CATALOG', `cannot open ${file}: ${(e as Error).message}`, {
      hint: 'check the permissions of <root>/.snap, or run `snap verify` to diagnose',
      cause: e,
    });
  }
  try {
    db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
    // gc's mark and verify's object list go through temp tables sized like the store: let them
    // spill to a file instead of growing the process (a million objects would be ~1 GB in RAM).
    db.pragma('temp_store = FILE');
    if (opts.wal && !opts.readonly) {
      db.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before we rename a snapshot into view (docs/guarantees.md).
      db.pragma('synchronous = FULL');
    }
  } catch (e) {
    db.close();
    throw new SnapError('CATALOG', `cannot use ${file}: ${(e as Error).message}`, { cause: e });
  }
  return db;
}

/** SQLite's verdict on the file itself: 'ok' or a list of problems. */
export function integrityCheck(db: Db): string[] {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  const msgs = rows.map((r) => r.integrity_check);
  return msgs.length === 1 && msgs[0] === 'ok' ? [] : msgs;
}

/**
 * The catalog cannot take a write right now or at all: another connection holds the write lock,
 * or the file or its folder is read-only. Not damage; callers that only record extras skip them.
 */
export function isUnwritableError(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return isBusyError(e) || code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY_DBMOVED';
}

export function isBusyError(e: unknown): boolean {
  const code = (e as { code?: string } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

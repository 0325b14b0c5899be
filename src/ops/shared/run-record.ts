/**
 * Writing run records (src/catalog/run-queries.ts) for `snap status` without ever failing a
 * command over them: a record is an extra. A catalog that is busy, read-only, full or damaged
 * gets no record (status then shows the previous one), and the command's own outcome stands.
 */
import { Catalog } from '../../catalog/catalog.js';
import { addRun, addRunWarning, type RunRecord } from '../../catalog/run-queries.js';
import { isUnwritableError } from '../../catalog/sqlite.js';
import { errnoCode, isSnapError, wrapFsError } from '../../errors.js';

export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

function recordingFailed(e: unknown): boolean {
  return isUnwritableError(e) || isSnapError(e) || (errnoCode(e)?.startsWith('SQLITE_') ?? false);
}

/** Add a record on an open, writable connection; its id, or undefined when it could not be written. */
export function recordRunOn(catalog: Catalog, r: RunRecord): number | undefined {
  try {
    return addRun(catalog, r);
  } catch (e) {
    if (recordingFailed(e)) return undefined;
    throw e;
  }
}

/** Open the catalog file for just this write (a lock-free verify; a take after its lock is released). */
function withCatalogFile<T>(catalogFile: string, fn: (c: Catalog) => T): T | undefined {
  try {
    const c = Catalog.open(catalogFile);
    try {
      return fn(c);
    } finally {
      c.close();
    }
  } catch (e) {
    if (recordingFailed(e)) return undefined;
    throw e;
  }
}

export function recordRunIn(catalogFile: string, r: RunRecord): number | undefined {
  return withCatalogFile(catalogFile, (c) => addRun(c, r));
}

export function recordRunWarningIn(catalogFile: string, id: number, message: string): boolean {
  return withCatalogFile(catalogFile, (c) => (addRunWarning(c, id, message), true)) ?? false;
}

/** The code and one-line message a failed command is recorded with. */
export function failureOf(e: unknown): { errorCode: string; error: string } {
  const err = wrapFsError(e, 'working');
  if (isSnapError(err)) return { errorCode: err.code, error: err.message };
  return { errorCode: 'INTERNAL', error: err instanceof Error ? err.message : String(err) };
}

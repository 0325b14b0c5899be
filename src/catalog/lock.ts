/**
 * The root's lock: an exclusive transaction on .snap/lock.db. SQLite takes it with fcntl(2)
 * locks, which the kernel drops the moment the holding process dies, so a crashed or killed run
 * can never leave a stale lock behind, and PID reuse cannot fool it. lock.owner (plain JSON) says
 * who holds it, for the "another run holds the lock" message; it is informational only.
 */
import fs from 'node:fs';
import { openDatabase, isBusyError, type Db } from './sqlite.js';
import { SnapError, errnoCode, isFsError } from '../errors.js';

export interface LockHandle {
  release(): void;
}

export interface LockOwner {
  pid: number;
  command: string;
  since: string;
}

export function acquireLock(lockFile: string, ownerFile: string, command: string, waitMs: number): LockHandle {
  const db: Db = openDatabase(lockFile, { busyTimeoutMs: waitMs });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (e) {
    db.close();
    if (isBusyError(e)) {
      const owner = readOwner(ownerFile);
      const who = owner ? ` (pid ${owner.pid}, \`${owner.command}\` since ${owner.since})` : '';
      throw new SnapError('LOCKED', `another linksnap run holds the lock on this root${who}`, {
        hint: 'wait for it to finish, or pass --wait <seconds>; a killed run releases the lock by itself',
      });
    }
    throw e;
  }
  const owner: LockOwner = { pid: process.pid, command, since: new Date().toISOString() };
  try {
    fs.writeFileSync(ownerFile, JSON.stringify(owner) + '\n', { mode: 0o600 });
  } catch (e) {
    if (!isFsError(e)) throw e; // informational only; the lock itself is held
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        fs.rmSync(ownerFile, { force: true });
      } catch (e) {
        if (!isFsError(e)) throw e; // informational only
      }
      try {
        db.exec('ROLLBACK');
      } finally {
        db.close();
      }
    },
  };
}

function readOwner(ownerFile: string): LockOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(ownerFile, 'utf8')) as LockOwner;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || e instanceof SyntaxError) return undefined; // gone, or caught mid-write
    throw e;
  }
}

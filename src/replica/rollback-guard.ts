/**
 * Rollback detection for encrypted replicas. Every HEAD carries a sequence number, one more per
 * push, sealed with the replica's key. Whoever can write to the bucket can still put an older
 * HEAD (and its catalog) back: it authenticates, because it once was genuine. So this machine
 * remembers, per replica, the newest sequence it has seen (pushed, pulled or verified), and
 * refuses a HEAD older than that. A machine that never saw the newer state cannot tell.
 *
 * The state lives in $LINKSNAP_STATE_DIR, else $XDG_STATE_HOME/linksnap, else
 * ~/.local/state/linksnap: `replicas/<state id>.json`, the state id derived from the replica's
 * master key (not secret, and meaningless without the key).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SnapError, errnoCode, wrapFsError } from '../errors.js';
import type { ReplicaHead } from './layout.js';

interface Seen {
  sequence: number;
  generation: string;
}

export function stateDir(): string {
  if (process.env.LINKSNAP_STATE_DIR) return process.env.LINKSNAP_STATE_DIR;
  const xdg = process.env.XDG_STATE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.local', 'state'), 'linksnap');
}

function stateFile(stateId: string): string {
  return path.join(stateDir(), 'replicas', `${stateId}.json`);
}

function readSeen(stateId: string): Seen | undefined {
  let text: string;
  try {
    text = fs.readFileSync(stateFile(stateId), 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw wrapFsError(e, `reading ${stateFile(stateId)}`);
  }
  try {
    const v = JSON.parse(text) as Seen;
    if (Number.isSafeInteger(v.sequence) && typeof v.generation === 'string') return v;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
  }
  throw new SnapError('CATALOG', `the replica state file ${stateFile(stateId)} is damaged`, { hint: 'remove it (rollback detection for that replica starts afresh)' });
}

/** Why `head` must not be trusted as the replica's current state, or undefined if it may be. */
export function rollbackProblem(stateId: string, head: ReplicaHead, url: string): string | undefined {
  const seen = readSeen(stateId);
  if (head.sequence === undefined) return `HEAD of ${url} has no sequence number`;
  if (!seen) return undefined;
  if (head.sequence < seen.sequence || (head.sequence === seen.sequence && head.generation !== seen.generation)) {
    return (
      `HEAD of ${url} names generation ${head.generation} (push ${head.sequence}), but this machine has seen generation ` +
      `${seen.generation} (push ${seen.sequence}): an older state was put back (replayed)`
    );
  }
  return undefined;
}

/** Remember `head` as seen, unless a newer one already is. */
export function rememberHead(stateId: string, head: ReplicaHead): void {
  const seen = readSeen(stateId);
  if (head.sequence === undefined || (seen && seen.sequence >= head.sequence)) return;
  const file = stateFile(stateId);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, JSON.stringify({ sequence: head.sequence, generation: head.generation }) + '\n', { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw wrapFsError(e, `writing ${file}`);
  }
}

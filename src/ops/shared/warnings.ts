/**
 * Things a take or restore could not do for one path while still completing the rest: the
 * reasons behind exit code 3 ("completed with warnings", like rsync's 23/24).
 */
import { showName } from '../../util/paths.js';

export type WarningKind =
  | 'unreadable' // EACCES/EPERM on a file or folder: skipped
  | 'vanished' // listed, then gone before it was read: skipped
  | 'changing' // kept changing while read: one consistent version was stored
  | 'special' // FIFO, socket or device: not stored
  | 'damaged' // a stored object no longer matched its name: stored again from the source
  | 'xattrs'; // extended attributes not recorded (a name the binding cannot take) or not restored (refused by the target)

export interface Warning {
  kind: WarningKind;
  /** Printable path relative to the source (non-UTF-8 bytes escaped as \xNN). */
  path: string;
  message: string;
}

/** Keeps the first `max` warnings and counts the rest, so memory stays bounded. */
export class Warnings {
  readonly list: Warning[] = [];
  count = 0;

  constructor(private readonly max = 1000) {}

  add(kind: WarningKind, rel: Buffer, message: string): void {
    this.count++;
    if (this.list.length < this.max) this.list.push({ kind, path: showName(rel) || '.', message });
  }
}

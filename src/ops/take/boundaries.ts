/**
 * Where a take stops descending, besides the exclude rules (excludes.ts):
 *
 *   one file system   `--one-file-system` / take.one-file-system: a folder on another file
 *                     system than `.latest` (a mount point below it) is kept as an empty folder,
 *                     as `rsync -x` does. `.latest` itself may be a mount point: its own file
 *                     system is the one the take stays on.
 *   marker files      `--exclude-caches` / take.exclude-caches, `--exclude-if-present <name>` /
 *                     take.exclude-if-present: a folder holding the marker keeps only the marker
 *                     file (src/store/folder-markers.ts).
 *
 * Options given on the command line add to the saved settings (a saved `true` is turned off with
 * `snap config <root> --unset <key>`). Neither changes which quick-check records are trusted:
 * both are decided afresh at every take, from the listing and the device, before anything is
 * linked — so turning them on or off costs no re-read of unchanged files.
 */
import { readSetting } from '../shared/settings.js';
import { folderMarkers, type FolderMarker } from '../../store/folder-markers.js';
import { SnapError } from '../../errors.js';

export interface BoundaryOptions {
  oneFileSystem?: boolean;
  excludeCaches?: boolean;
  /** Marker file names (each one name, no '/'). */
  excludeIfPresent?: readonly string[];
}

export interface Boundaries {
  oneFileSystem: boolean;
  markers: FolderMarker[];
}

/** A marker is one file name: not empty, no '/', not '.' or '..'. */
export function checkMarkerName(name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new SnapError('USAGE', `--exclude-if-present takes a file name, got '${name}'`, { hint: 'give the marker file\'s name only, e.g. --exclude-if-present .nobackup' });
  }
  return name;
}

/** The boundaries of one take: the options of this run added to the root's saved settings (none for a root without a catalog). */
export function resolveBoundaries(saved: ReadonlyMap<string, string> | undefined, o: BoundaryOptions): Boundaries {
  const setting = <T>(read: (s: ReadonlyMap<string, string>) => T) => (saved ? read(saved) : undefined);
  const oneFileSystem = o.oneFileSystem === true || setting((s) => readSetting(s, 'take.one-file-system')) === true;
  const excludeCaches = o.excludeCaches === true || setting((s) => readSetting(s, 'take.exclude-caches')) === true;
  const names = [...(setting((s) => readSetting(s, 'take.exclude-if-present')) ?? []), ...(o.excludeIfPresent ?? []).map(checkMarkerName)];
  return { oneFileSystem, markers: folderMarkers(excludeCaches, names) };
}

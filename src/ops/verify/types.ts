/**
 * What `snap verify` reports. The finding kinds are stable codes (docs/verify.md); scripts may
 * match on them. Paths are printable (showName) and relative to the root: `<snapshot>/<path in
 * the snapshot>` for snapshot contents, `.snap/...` for the store.
 */
import { type ObjectKey } from '../../model/object-key.js';
import type { SavedPath } from '../shared/lost-found.js';

export type DamageKind =
  | 'catalog-integrity' // SQLite's integrity_check / quick_check failed
  | 'catalog-invariant' // a row linksnap relies on is missing or malformed (unsafe name, cycle...)
  | 'object-missing' // a referenced object file (or one of its replicas) is gone
  | 'object-not-regular' // an object name is a symlink, folder or other non-file
  | 'object-size' // an object file has the wrong size
  | 'object-content' // an object's bytes no longer match its BLAKE3 hash
  | 'object-metadata' // an object inode's mode, mtime or owner drifted (e.g. a chmod through a link)
  | 'object-xattrs' // an object inode's extended attributes are not those its name records (e.g. setfattr through a link)
  | 'folder-missing' // a complete snapshot's dated folder is gone (or is not a folder)
  | 'entry-missing' // a path of the manifest is missing from the dated folder
  | 'entry-extra' // the dated folder has a path the manifest does not
  | 'entry-replaced' // a file is not a hard link to its object (another inode, even with the same bytes)
  | 'entry-kind' // a path is of another kind than recorded (file vs folder vs symlink)
  | 'entry-metadata' // a folder's or symlink's mode, mtime or owner drifted
  | 'entry-xattrs' // a folder's extended attributes are not the recorded ones
  | 'symlink-target'; // a symlink points elsewhere than recorded

export type InfoKind =
  | 'catalog-dangling' // entry rows of a tree that does not exist (gc removes them)
  | 'unreferenced-object' // objects no live snapshot references (gc removes them)
  | 'stray-object-file' // files in .snap/objects the catalog does not know
  | 'staging-leftover' // .snap/staging folders of interrupted runs (or one in progress)
  | 'tmp-leftover' // .snap/tmp files of interrupted runs (or one in progress)
  | 'trash-leftover' // removed folders not yet deleted from .snap/trash
  | 'committed-awaiting-publish' // a complete snapshot still in .snap/staging; the next locked run publishes it
  | 'snapshot-deleting' // a prune was interrupted; the next locked run finishes it
  | 'lost-found'; // files a repair or rebuild moved out of dated folders wait in .snap/lost+found

export type FindingKind = DamageKind | InfoKind;

export interface Finding {
  kind: FindingKind;
  severity: 'damage' | 'info';
  /** The snapshots this finding touches (empty for store-wide findings). */
  snapshots: string[];
  /** Printable paths relative to the root, `<snapshot>/<path>` or `.snap/...`. */
  paths: string[];
  /** How many more paths there were beyond `paths` (the list is capped). */
  morePaths?: number;
  message: string;
  /** For object findings: the object's file name under .snap/objects/<xx>/. */
  object?: string;
  /** Set by --repair: true when repaired (a re-check found it fixed), false when it could not be. */
  repaired?: boolean;
  /** Why a repair was not possible (e.g. no intact copy of the content exists). */
  repairNote?: string;
}

export interface VerifyProgress {
  doneBytes: number;
  totalBytes: number;
  doneItems: number;
  totalItems: number;
}

export interface VerifyOptions {
  /** Verify only these snapshots (default: every complete snapshot and the whole store). */
  snapshots?: string[];
  /** Structure and stat data only: no content is read. */
  quick?: boolean;
  /** Hash this share (0-100] of the objects, least recently verified first. */
  samplePercent?: number;
  /** Repair what can be repaired (takes the root's lock). */
  repair?: boolean;
  /** How long --repair waits for another run's lock (ms). */
  waitMs?: number;
  onProgress?: (p: VerifyProgress) => void;
}

export interface VerifyCounts {
  snapshots: number;
  /** File, folder and symlink paths compared with their dated folders. */
  entries: number;
  /** Distinct referenced objects whose files were checked (stat). */
  objects: number;
  objectsHashed: number;
  bytesHashed: number;
  damage: number;
  info: number;
  repaired: number;
  unrepaired: number;
}

export interface VerifyReport {
  root: string;
  tier: 'quick' | 'full' | 'sample';
  /** The snapshots that were checked, oldest first. */
  snapshots: string[];
  findings: Finding[];
  /** True iff a damage finding remains (after repair, when --repair). */
  damaged: boolean;
  counts: VerifyCounts;
  /** Whether verified_ns could be recorded for the objects that hashed clean. */
  verifiedRecorded: boolean;
  repair: boolean;
  /** With repair: what was in dated folders but not the snapshots', moved into .snap/lost+found. */
  saved?: SavedPath[];
  seconds: number;
}

/** A path of a snapshot that uses an object: for the report and for re-linking after a repair. */
export interface ObjectRef {
  snapshot: string;
  rel: Buffer;
}

/** Internal: one damaged or unknown object, with every snapshot path that shares it. */
export interface ObjectDamage {
  /** Its row in the staged referenced objects (verify_refs): how the folder walk finds its paths. */
  rid: number;
  key: ObjectKey;
  size: number;
  replicas: number;
  /** The kinds found, most severe first; per replica details are in `problems`. */
  kinds: DamageKind[];
  problems: string[];
  /** Replicas whose file is missing, not regular, or has the wrong size or content. */
  badReplicas: number[];
  /** Replicas with only metadata drift (content fine or not read). */
  metaReplicas: number[];
  refs: ObjectRef[];
  /** The finding reported for it (updated with paths after the folder walk). */
  finding: Finding;
}

/** Internal: a file path whose inode is not its object's; fixed by re-linking it in place. */
export interface ReplacedEntry {
  snapshot: string;
  rel: Buffer;
  key: ObjectKey;
}

export const DAMAGE_ORDER: DamageKind[] = [
  'catalog-integrity',
  'catalog-invariant',
  'object-missing',
  'object-not-regular',
  'object-size',
  'object-content',
  'object-metadata',
  'object-xattrs',
  'folder-missing',
  'entry-kind',
  'entry-missing',
  'entry-extra',
  'entry-replaced',
  'entry-metadata',
  'entry-xattrs',
  'symlink-target',
];

/** Cap on the paths listed in one finding (the rest are counted in morePaths). */
export const MAX_PATHS_PER_FINDING = 10_000;

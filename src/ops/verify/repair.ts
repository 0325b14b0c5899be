/**
 * `snap verify --repair`: repair what the checks found, touching nothing that is still correct.
 * The caller holds the root's lock and ran recover().
 *
 *   1. Objects. Metadata drift only (a chmod or touch through a link): after checking the content,
 *      give the inode back its recorded mode, mtime (and owner, as root) — every snapshot path
 *      shares that inode, so this fixes them all. Wrong, missing or non-regular content: heal
 *      from an intact copy whose hash is checked first (another replica, an object with the same
 *      content and other metadata, a snapshot path that still holds the old inode, or a file in
 *      .latest), published with rename(2) over the damaged name. No intact copy: the paths that
 *      lost their content are named and nothing is changed for that object.
 *   2. Re-link, in place, exactly the snapshot paths whose inode is not their object's (after a
 *      heal, or a file replaced by another inode), then restore their folders' metadata. A file
 *      there whose content is not the object's is someone's: it moves to .snap/lost+found first.
 *   3. Rebuild each dated folder with structural damage (missing, extra, wrong kind, metadata,
 *      symlink target) from the catalog and swap it in (shared/build-folder.ts), which moves
 *      what the old folder holds that is not the snapshot's to .snap/lost+found.
 *   Every move is named in the findings' repair notes and returned (shared/lost-found.ts).
 *
 * Every step is atomic (rename) and idempotent: a repair killed at any point leaves a store that
 * the next `verify --repair` brings to a clean verify.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Root } from '../shared/root.js';
import type { CheckResult } from './checks.js';
import { ObjectPlacer, recordedXattrs } from '../shared/object-placer.js';
import { finishDir } from '../shared/place.js';
import { findSource } from '../shared/source.js';
import { lookupPath, snapshotPath } from '../shared/snapshot-tree.js';
import { rebuildInPlace } from '../shared/build-folder.js';
import { LostFound, holdsObjectContent, isObjectInode, openForMoves, type SavedPath } from '../shared/lost-found.js';
import { inodeId } from './check-objects.js';
import { objectsWithHash, sourcePathsWithHash } from '../../catalog/verify-queries.js';
import type { SnapshotRow } from '../../catalog/catalog.js';
import type { EntryMeta } from '../../model/entry.js';
import { Kind } from '../../model/entry.js';
import { objectName, objectPath } from '../../store/layout.js';
import { type ObjectKey } from '../../model/object-key.js';
import { NotARegularFile, applyInodeMeta, hashStoredFile, tmpName } from '../../store/blobfile.js';
import { syncFileSystem } from '../../store/durability.js';
import { joinPath, joinAll } from '../../util/paths.js';
import { faultPoint } from '../../util/fault.js';
import { isFsError, isSnapError } from '../../errors.js';
import type { ObjectDamage } from './types.js';
import { lstatOrUndefined } from '../../util/fs.js';

/** How many candidate copies of one content are tried at most (each is read in full). */
const MAX_CANDIDATES = 64;

function splitRel(rel: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= rel.length; i++) {
    if (i === rel.length || rel[i] === 0x2f) {
      if (i > start) parts.push(rel.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}

/** The file's hash, or undefined when it is gone, unreadable or not a regular file. */
async function hashIfReadable(p: string): Promise<{ hash: Buffer; size: number } | undefined> {
  try {
    return await hashStoredFile(p);
  } catch (e) {
    if (isFsError(e) || e instanceof NotARegularFile) return undefined;
    throw e;
  }
}

class Repairer {
  private readonly placer: ObjectPlacer;
  private readonly lostFound: LostFound;
  private readonly lost = new Set<string>();
  private readonly healed = new Set<string>();
  private latest: string | undefined | null = null;

  constructor(
    private readonly root: Root,
    private readonly check: CheckResult,
    private readonly owners: boolean,
  ) {
    this.placer = new ObjectPlacer(root);
    this.lostFound = new LostFound(root.layout);
  }

  async run(): Promise<void> {
    const rebuild = new Set([...this.check.folderDamaged].filter((s) => !this.check.unrebuildable.has(s)));
    for (const [name, d] of this.check.objectDamage) {
      if (d.kinds.includes('catalog-invariant')) {
        d.finding.repairNote = 'the catalog itself is inconsistent for this object; not repaired';
        continue;
      }
      if (await this.healObject(d)) this.healed.add(name);
      else this.lost.add(name);
    }

    // Paths to re-link in place, grouped by folder so each folder's metadata is restored once.
    const groups = new Map<string, { snapshot: string; dir: Buffer; files: { rel: Buffer; key: ObjectKey }[] }>();
    const want = (snapshot: string, rel: Buffer, key: ObjectKey) => {
      if (rebuild.has(snapshot)) return; // the rebuild links it anyway
      const dir = rel.subarray(0, Math.max(0, rel.lastIndexOf(0x2f)));
      const id = `${snapshot}\0${dir.toString('latin1')}`;
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { snapshot, dir, files: [] }));
      g.files.push({ rel, key });
    };
    for (const name of this.healed) {
      const d = this.check.objectDamage.get(name)!;
      if (d.badReplicas.length === 0) continue; // metadata fixed in place: the links are right
      for (const r of d.refs) want(r.snapshot, r.rel, d.key);
    }
    for (const r of this.check.replaced) {
      if (!this.lost.has(objectName(r.key))) want(r.snapshot, r.rel, r.key);
    }
    for (const g of groups.values()) await this.relinkGroup(g.snapshot, g.dir, g.files);

    for (const name of rebuild) {
      const snap = this.check.checked.find((s) => s.name === name);
      if (!snap) continue;
      try {
        await rebuildInPlace(this.root, snap, this.placer, undefined, this.lostFound);
      } catch (e) {
        const why = `could not rebuild the folder: ${(e as Error).message}`;
        for (const f of this.check.findings) if (f.snapshots.includes(name) && f.severity === 'damage' && !f.object) f.repairNote ??= why;
      }
    }
    await syncFileSystem(this.root.layout.store);
  }

  // ---- objects --------------------------------------------------------------------------------

  /** True when the object is whole again (or only needed its metadata back). */
  private async healObject(d: ObjectDamage): Promise<boolean> {
    const { layout } = this.root;
    // Metadata drift: only fix the inode if its content is right; else it needs a heal.
    for (const r of d.metaReplicas) {
      const p = objectPath(layout, d.key, r);
      const h = await hashIfReadable(p);
      if (h && h.hash.equals(d.key.hash) && h.size === d.size) {
        await applyInodeMeta(p, d.key, this.owners, recordedXattrs(this.root.catalog, d.key.xattrs));
        faultPoint('repair:metadata');
      } else d.badReplicas.push(r);
    }
    if (d.badReplicas.length === 0) return true;

    const source = await this.findIntactCopy(d);
    if (!source) {
      const n = d.refs.length;
      const shown = d.refs.slice(0, 20).map((r) => snapshotPath(r.snapshot, r.rel));
      d.finding.repairNote =
        `no intact copy of this content exists (checked the other replicas, objects with the same content, the snapshot paths and .latest): ` +
        `${n} snapshot path(s) lost it: ${shown.join(', ')}${n > shown.length ? `, … (${n - shown.length} more)` : ''}`;
      return false;
    }
    const bad = [...new Set(d.badReplicas)].sort((a, b) => a - b);
    for (let i = 0; i < bad.length; i++) {
      const r = bad[i]!;
      const last = i === bad.length - 1;
      const tmp = last ? source : await this.copyToTmp(Buffer.from(source));
      await applyInodeMeta(tmp, d.key, this.owners, recordedXattrs(this.root.catalog, d.key.xattrs));
      await this.putObject(tmp, objectPath(layout, d.key, r));
      faultPoint('repair:object-healed');
    }
    return true;
  }

  /** Replace whatever is at an object's name with `tmp` (a folder or symlink goes to trash). */
  private async putObject(tmp: string, dest: string): Promise<void> {
    const { layout } = this.root;
    const fan = path.dirname(dest);
    const fanSt = lstatOrUndefined(fan);
    if (fanSt && !fanSt.isDirectory()) await fsp.rename(fan, path.join(layout.trash, `objects-${path.basename(fan)}-${randomBytes(4).toString('hex')}`));
    if (!fanSt || !fanSt.isDirectory()) await fsp.mkdir(fan, { recursive: true, mode: 0o700 });
    const st = lstatOrUndefined(dest);
    if (st && !st.isFile()) await fsp.rename(dest, path.join(layout.trash, `object-${randomBytes(6).toString('hex')}`));
    await fsp.rename(tmp, dest); // atomic: readers see the old inode or the healed one
  }

  private async copyToTmp(src: Buffer): Promise<string> {
    const tmp = tmpName(this.root.layout.tmp);
    await fsp.copyFile(src, tmp, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
    return tmp;
  }

  private latestDir(): string | undefined {
    if (this.latest === null) {
      try {
        this.latest = findSource(this.root.layout.root).real;
      } catch (e) {
        if (!isSnapError(e)) throw e;
        this.latest = undefined; // no usable .latest: one place fewer to look for a copy
      }
    }
    return this.latest;
  }

  /** Candidate files that may hold this content, most likely and cheapest first. */
  private candidates(d: ObjectDamage): Buffer[] {
    const { layout, catalog } = this.root;
    const out: Buffer[] = [];
    for (let r = 0; r < d.replicas; r++) if (!d.badReplicas.includes(r)) out.push(Buffer.from(objectPath(layout, d.key, r)));
    for (const v of objectsWithHash(catalog, d.key.hash)) {
      const k: ObjectKey = { hash: d.key.hash, mode: v.mode, uid: v.uid, gid: v.gid, mtimeUs: v.mtimeUs, ...(v.xattrs ? { xattrs: v.xattrs } : {}) };
      if (objectName(k) === objectName(d.key)) continue;
      for (let r = 0; r < v.replicas; r++) out.push(Buffer.from(objectPath(layout, k, r)));
    }
    // A snapshot path may still hold the old inode when the object file itself was lost.
    for (const r of d.refs.slice(0, MAX_CANDIDATES)) out.push(joinPath(Buffer.from(path.join(layout.root, r.snapshot)), r.rel));
    const latest = this.latestDir();
    if (latest) {
      const top = Buffer.from(latest);
      for (const row of sourcePathsWithHash(catalog, d.key.hash)) out.push(joinAll(top, ...splitRel(row.dir), row.name));
      for (const r of d.refs.slice(0, MAX_CANDIDATES)) out.push(joinPath(top, r.rel));
    }
    return out;
  }

  /** A tmp file holding a copy of the content, its hash checked; undefined when none exists. */
  private async findIntactCopy(d: ObjectDamage): Promise<string | undefined> {
    const badInodes = new Set<string>();
    for (const r of d.badReplicas) {
      const st = lstatOrUndefined(objectPath(this.root.layout, d.key, r));
      if (st?.isFile()) badInodes.add(inodeId(st));
    }
    const tried = new Set<string>();
    for (const c of this.candidates(d)) {
      if (tried.size >= MAX_CANDIDATES) break;
      const st = lstatOrUndefined(c);
      if (!st || !st.isFile() || Number(st.size) !== d.size) continue;
      const id = inodeId(st);
      if (badInodes.has(id) || tried.has(id)) continue;
      tried.add(id);
      let tmp: string;
      try {
        tmp = await this.copyToTmp(c);
      } catch (e) {
        if (!isFsError(e)) throw e;
        continue; // vanished or unreadable: try the next candidate
      }
      // Check the copy itself, not the source: it cannot change under us once made.
      const h = await hashIfReadable(tmp);
      if (h && h.hash.equals(d.key.hash) && h.size === d.size) return tmp;
      await fsp.rm(tmp, { force: true });
    }
    return undefined;
  }

  // ---- re-linking paths in place --------------------------------------------------------------

  /** The folder at `dir` in the dated folder, when every component is a real folder (no symlink). */
  private safeFolder(snapshot: string, dir: Buffer): Buffer | undefined {
    let abs: Buffer = Buffer.from(path.join(this.root.layout.root, snapshot));
    const st = lstatOrUndefined(abs);
    if (!st || !st.isDirectory()) return undefined;
    for (const part of splitRel(dir)) {
      abs = joinPath(abs, part);
      const s = lstatOrUndefined(abs);
      if (!s || !s.isDirectory()) return undefined;
    }
    return abs;
  }

  private folderMeta(snap: SnapshotRow, dir: Buffer): EntryMeta | undefined {
    const e = lookupPath(this.root.catalog, snap, splitRel(dir));
    return e && e.kind === Kind.Dir ? e : undefined;
  }

  private async relinkGroup(snapshot: string, dir: Buffer, files: { rel: Buffer; key: ObjectKey }[]): Promise<void> {
    const snap = this.check.checked.find((s) => s.name === snapshot) ?? this.check.all.find((s) => s.name === snapshot);
    const abs = this.safeFolder(snapshot, dir);
    const folderSt = abs && lstatOrUndefined(abs);
    const meta = snap && this.folderMeta(snap, dir);
    if (!snap || !abs || !folderSt || !meta) return; // structural damage: the re-check reports what is left
    let changed = false;
    let opened: number | undefined;
    let writable = false;
    try {
      for (const { rel, key } of files) {
        const dest = joinPath(abs, rel.subarray(dir.length === 0 ? 0 : dir.length + 1));
        const st = lstatOrUndefined(dest);
        if (!st || !st.isFile()) continue;
        if (isObjectInode(this.root, key, st)) continue; // already right: never rewrite what is correct
        // Another inode. A copy or link of the object's content (or an inode this run saved
        // already, e.g. the old inode of a healed object shared by many paths) may go; anything
        // else is someone's file and moves to lost+found first.
        const size = this.root.catalog.getObject(key)?.size;
        const keep = !this.lostFound.holds(st) && !(size !== undefined && (await holdsObjectContent(dest, st, key, size)));
        const tmp = tmpName(this.root.layout.tmp);
        await this.placer.link(key, tmp);
        if (!writable) {
          opened = await openForMoves(abs, folderSt, this.root.asRoot); // finishDir below restores its mode
          writable = true;
        }
        if (keep) {
          changed = true;
          await this.lostFound.save(snapshot, rel, dest, st);
          faultPoint('repair:saved');
        }
        await fsp.rename(tmp, dest); // atomic where nothing was saved: readers see one inode or the other
        changed = true;
        faultPoint('repair:relinked');
      }
    } finally {
      if (changed || opened !== undefined) await finishDir(abs, meta, this.owners);
    }
  }

  /** Tell each finding where the paths it names went, when they were moved into lost+found. */
  noteSaved(): void {
    const byPath = new Map(this.lostFound.saved.map((x) => [x.path, x]));
    if (byPath.size === 0) return;
    for (const f of this.check.findings) {
      if (f.severity !== 'damage') continue;
      const mine = f.paths.flatMap((p) => byPath.get(p) ?? []);
      if (mine.length === 0) continue;
      const note = `not the snapshot's, kept: ${mine.map((x) => `${x.path} → ${x.to}`).join(', ')}`;
      f.repairNote = f.repairNote ? `${f.repairNote}; ${note}` : note;
    }
  }

  get saved(): SavedPath[] {
    return this.lostFound.saved;
  }
}

/** Repair what `check` found; returns what was moved into .snap/lost+found (and notes it on the findings). */
export async function repairDamage(root: Root, check: CheckResult, owners: boolean): Promise<SavedPath[]> {
  const r = new Repairer(root, check, owners);
  try {
    await r.run();
  } finally {
    r.noteSaved();
  }
  return r.saved;
}

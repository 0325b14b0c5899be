/**
 * One chunk of a folder being taken — the whole folder when it is small, up to 4,096 names of a
 * big one — after its scan (src/store/source-scan.ts), in named steps (process() reads top to
 * bottom):
 *
 *   classify  each entry the scan returned is decided: a subfolder to descend into, a symlink
 *             placed now, a special file warned about, a file to link on the main thread, a small
 *             new or changed file for the ingest workers, a large one to read here;
 *   ingest    small files go to the workers in batches; their results come back for the catalog;
 *   descend   subfolders are walked (several siblings at once, a bounded number in flight);
 *   record    records no entry accounts for (names that are gone, changed or excluded) are
 *             dropped, with the records of a vanished subfolder's whole subtree.
 *
 * Then entries() hands the chunk's part of the folder's tree (in name order, each with its new
 * quick-check record when it gets one) to the folder's tree writer. `changed` says whether that
 * part can differ from the one the records remember.
 */
import fs from 'node:fs';
import { finishDirSync } from '../shared/place.js';
import { testLinkLimitActive } from '../shared/object-placer.js';
import { markDirty } from '../shared/dirty.js';
import { metaOf, xattrsField, type EntryAt, type FolderResult, type Placed, type SourceStat, type SourceWalker } from './walker.js';
import { Kind } from '../../model/entry.js';
import { encodeRecord, extraOf, extraParts, readRecord, recordExtra, recordHolds, recordOffsets } from '../../model/quick-check.js';
import { INGEST_SMALL_LIMIT, type IngestJob } from '../../store/ingest-sync.js';
import type { EntriesScan, ScanOther } from '../../store/source-scan.js';
import { FieldStat, fdPath } from '../../util/fsat.js';
import { joinPath } from '../../util/paths.js';
import { asBuffer } from '../../util/buffers.js';
import { allSettledOrThrow } from '../../util/limit.js';
import { ErrnoError } from '../../errors.js';

/** Files per message to an ingest worker: enough to amortise the message, small for balance. */
const INGEST_BATCH = 64;
/** Folders walked concurrently, over the whole take (see descend()). */
const MAX_DIRS_IN_FLIGHT = 64;


interface Subfolder {
  k: number;
  name: Buffer;
  st: SourceStat;
  /** Offset of its record, when it had one. */
  rec: number | undefined;
}

/** Where a chunk is: the open folder (its descriptor), and its place in the source and the snapshot. */
export interface ChunkHome {
  fd: number;
  rel: Buffer;
  dest: Buffer;
  /** Walk a subfolder of this folder (opened through `fd`, checked to be the inode `st` saw). */
  walkSubfolder(name: Buffer, st: SourceStat): Promise<FolderResult>;
}

export class FolderChunk {
  private readonly offs: number[];
  private readonly linkedMask: Uint8Array;
  private readonly others: ScanOther[];
  /** Records accounted for by an entry seen now / whose name is (still) a folder walked now. */
  private readonly matched: Uint8Array;
  private readonly stillDir: Uint8Array;
  private readonly placed: (Placed | undefined)[];
  private readonly pending: Promise<void>[] = [];
  private readonly jobs: { k: number; job: IngestJob; st: SourceStat }[] = [];
  private readonly subdirs: Subfolder[] = [];
  changed: boolean;

  constructor(
    private readonly w: SourceWalker,
    private readonly home: ChunkHome,
    /** The records of this chunk's name range (none: first take, --checksum, new names). */
    private readonly records: Buffer | undefined,
    scan: EntriesScan,
    /** The folder had no records at all: its tree must be built and recorded. */
    folderUnrecorded: boolean,
  ) {
    this.offs = records ? recordOffsets(records) : [0];
    const count = this.offs.length - 1;
    this.linkedMask = scan.linkedMask.length === count ? scan.linkedMask : new Uint8Array(count);
    this.others = scan.others;
    this.placed = new Array(scan.others.length);
    this.matched = new Uint8Array(count);
    this.stillDir = new Uint8Array(count);
    this.changed = folderUnrecorded;
    if (scan.linked > 0) {
      w.counters.reusedFiles += scan.linked;
      w.opts.onFile?.(scan.linkedBytes, scan.linked);
    }
  }

  async process(): Promise<void> {
    this.classify();
    this.ingest();
    try {
      await this.descend();
    } finally {
      // Never leave work running behind a failure: it could write into a folder being removed.
      await Promise.allSettled(this.pending);
    }
    await allSettledOrThrow(this.pending, (p) => p);
    this.forgetVanished();
  }

  private get recordCount(): number {
    return this.offs.length - 1;
  }

  private at(name: Buffer): EntryAt {
    return { src: fdPath(this.home.fd, name), dest: joinPath(this.home.dest, name), rel: joinPath(this.home.rel, name), name };
  }

  // ---- classify -------------------------------------------------------------------------------

  private classify(): void {
    const { w } = this;
    for (let k = 0; k < this.others.length; k++) {
      const o = this.others[k]!;
      const at = this.at(asBuffer(o.name));
      const rec = o.rec >= 0 ? this.offs[o.rec] : undefined;
      if (!o.st) {
        w.skipOnRace(new ErrnoError(o.err!, `${o.err}: cannot lstat`), at.rel, 'listed but gone before it could be read');
        continue; // its record, if any, stays unmatched: the folder changed
      }
      const st = new FieldStat(o.st);
      if (st.isDirectory()) {
        if (w.opts.exclude?.(at.rel, true)) continue;
        this.subdirs.push({ k, name: at.name, st, rec });
        if (o.rec >= 0) this.stillDir[o.rec] = 1;
      } else if (w.opts.exclude?.(at.rel, false)) {
        continue;
      } else if (st.isSymbolicLink()) {
        this.symlink(k, o.rec, at, st);
      } else if (!st.isFile()) {
        w.special(at, st);
      } else if (rec !== undefined && recordHolds(this.records!, rec, Kind.File, st)) {
        this.unchangedFile(k, o, at, st);
      } else {
        this.changedFile(k, at, st);
      }
    }
  }

  private symlink(k: number, recIndex: number, at: EntryAt, st: SourceStat): void {
    const rec = recIndex >= 0 ? this.offs[recIndex]! : undefined;
    const same = rec !== undefined && recordHolds(this.records!, rec, Kind.Symlink, st);
    const p = this.w.symlink(at, st, same ? recordExtra(this.records!, rec) : undefined);
    if (!p) return;
    this.placed[k] = p;
    if (same) this.matched[recIndex] = 1;
    else this.changed = true;
  }

  /** Unchanged, but the worker did not link it (link limit, object missing or damaged, test seam). */
  private unchangedFile(k: number, o: ScanOther, at: EntryAt, st: SourceStat): void {
    if (o.linkErr && o.linkErr !== 'EMLINK' && o.linkErr !== 'ENOENT' && o.linkErr !== 'DAMAGED') {
      throw new ErrnoError(o.linkErr, `${o.linkErr}: cannot link ${at.rel.toString()} into the snapshot`);
    }
    this.matched[o.rec] = 1;
    const known = recordExtra(this.records!, this.offs[o.rec]!);
    this.pending.push(
      this.w.limiter.run(async () => {
        const p = (this.placed[k] = await this.w.file(at, st, known));
        if (!p || !extraOf(p.input.entry.hash!, p.input.entry.xattrs).equals(known)) this.changed = true;
      }),
    );
  }

  private changedFile(k: number, at: EntryAt, st: SourceStat): void {
    this.changed = true;
    // Test seams that must run before each read, or count links, keep files on the main thread.
    if (st.size <= BigInt(INGEST_SMALL_LIMIT) && !this.w.opts.hooks?.beforeRead && !testLinkLimitActive()) {
      this.jobs.push({ k, job: { name: at.name, dev: st.dev, ino: st.ino }, st });
      return;
    }
    this.pending.push(this.w.limiter.run(async () => void (this.placed[k] = await this.w.file(at, st, undefined))));
  }

  // ---- ingest ---------------------------------------------------------------------------------

  /** New or changed small files go to the workers in batches; the catalog work comes back here. */
  private ingest(): void {
    const { w, home } = this;
    for (let b = 0; b < this.jobs.length; b += INGEST_BATCH) {
      const slice = this.jobs.slice(b, b + INGEST_BATCH);
      const batch = {
        srcDir: fdPath(home.fd),
        stageDir: home.dest,
        objectsDir: w.root.layout.objects,
        trashDir: w.root.layout.trash,
        asRoot: w.root.asRoot,
        checksum: w.opts.checksum,
        xattrs: w.opts.xattrs === true,
        tmpDir: w.root.layout.tmp,
        // Names are views into the scan's reply; copied, so the message carries only these names.
        files: slice.map((j) => ({ ...j.job, name: Buffer.from(j.job.name) })),
      };
      this.pending.push(
        markDirty(w.root) // before the first object is published (shared/dirty.ts)
          .then(() => w.pool.run(batch))
          .then((results) =>
            allSettledOrThrow(slice, async (j, i) => {
              this.placed[j.k] = await w.ingested(this.at(j.job.name), j.st, results[i]!);
            }),
          )
          .then(() => undefined),
      );
    }
  }

  // ---- descend --------------------------------------------------------------------------------

  /**
   * Subfolders are walked while this chunk's files are still with the workers, and several
   * siblings at once. At most MAX_DIRS_IN_FLIGHT folders (plus one per level of depth, so every
   * chain can progress) are open at a time: memory stays bounded by that, not by the tree.
   */
  private async descend(): Promise<void> {
    const { w } = this;
    const running: { d: Subfolder; work: Promise<FolderResult> }[] = [];
    try {
      for (const d of this.subdirs) {
        fs.mkdirSync(joinPath(this.home.dest, d.name), { mode: 0o700 });
        while (running.length > 0 && w.dirsInFlight >= MAX_DIRS_IN_FLIGHT) {
          const done = running.shift()!;
          this.finishSubfolder(done.d, await done.work);
        }
        w.dirsInFlight++;
        const work = this.home.walkSubfolder(d.name, d.st).finally(() => w.dirsInFlight--);
        work.catch(() => {}); // surfaced when awaited below
        running.push({ d, work });
      }
      while (running.length > 0) {
        const { d, work } = running.shift()!;
        this.finishSubfolder(d, await work);
      }
    } finally {
      await Promise.allSettled(running.map((r) => r.work));
    }
  }

  /** A walked subfolder gets its metadata, its entry and its record. */
  private finishSubfolder(d: Subfolder, sub: FolderResult): void {
    const meta = metaOf(d.st);
    finishDirSync(joinPath(this.home.dest, d.name), meta, this.w.root.asRoot, sub.xattrs?.set);
    const extra = extraOf(sub.digest, sub.xattrs?.digest);
    this.placed[d.k] = {
      input: { entry: { name: d.name, kind: Kind.Dir, ...meta, size: 0, subtree: sub.tree, ...xattrsField(sub.xattrs?.digest) }, childDigest: sub.digest, totals: sub.totals },
      // Folders are listed again every take, so their records need no racy window.
      record: encodeRecord({ kind: Kind.Dir, name: d.name, ...meta, dev: d.st.dev, ino: d.st.ino, size: d.st.size, ctimeNs: d.st.ctimeNs, extra }),
    };
    const same = d.rec !== undefined && recordHolds(this.records!, d.rec, Kind.Dir, d.st) && recordExtra(this.records!, d.rec).equals(extra);
    if (same) this.matched[this.others[d.k]!.rec] = 1;
    else this.changed = true;
  }

  // ---- record ---------------------------------------------------------------------------------

  /**
   * Records no entry accounts for: names that are gone, changed or excluded now. A folder that
   * is no longer one (or no longer walked) takes its own records with it.
   */
  private forgetVanished(): void {
    for (let i = 0; i < this.recordCount; i++) {
      if (this.linkedMask[i] || this.matched[i]) continue;
      this.changed = true;
      const r = readRecord(this.records!, this.offs[i]!);
      if (r.kind === Kind.Dir && !this.stillDir[i]) this.w.root.catalog.dropQuickCheckBelow(joinPath(this.home.rel, r.name));
    }
  }

  // ---- the chunk's part of the tree -----------------------------------------------------------

  /** The chunk's entries in name order: the files the worker linked from their records, and the rest placed now. */
  entries(): Placed[] {
    const all: Placed[] = [];
    for (let i = 0; i < this.recordCount; i++) {
      if (!this.linkedMask[i]) continue;
      const r = readRecord(this.records!, this.offs[i]!);
      const { id: hash, xattrs } = extraParts(r.extra);
      all.push({
        input: { entry: { name: r.name, kind: Kind.File, mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs, size: Number(r.size), hash, ...xattrsField(xattrs) } },
        record: this.records!.subarray(this.offs[i]!, this.offs[i + 1]!),
      });
    }
    for (const p of this.placed) if (p) all.push(p);
    return all.sort((a, b) => Buffer.compare(a.input.entry.name, b.input.entry.name));
  }
}

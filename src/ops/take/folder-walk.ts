/**
 * One folder of a take, in named steps (run() reads top to bottom):
 *
 *   scan      a worker lists the folder, lstats every entry and hard-links each file whose
 *             quick-check record still holds (src/store/source-scan.ts); the rest comes back;
 *   classify  each returned entry is decided: a subfolder to descend into, a symlink placed now,
 *             a special file warned about, a file to link on the main thread, a small new or
 *             changed file for the ingest workers, a large one to read here;
 *   ingest    small files go to the workers in batches; their results come back for the catalog;
 *   descend   subfolders are walked (several siblings at once, a bounded number in flight);
 *   record    records no entry accounts for (names that are gone, changed or excluded) are
 *             dropped, with the records of a vanished subfolder's whole subtree;
 *   tree      the folder's tree: reused from its records' digest when nothing changed, else
 *             built, stored, and remembered with the new records.
 *
 * `changed` tracks whether the folder's tree can differ from the one its records remember.
 * Memory holds one folder's listing per level of depth (and a bounded number of folders in
 * flight), never the whole tree.
 */
import fs from 'node:fs';
import { finishDirSync } from '../shared/place.js';
import { treeDigest } from '../shared/tree-digest.js';
import { testLinkLimitActive } from '../shared/object-placer.js';
import { metaOf, type EntryAt, type FolderResult, type Placed, type SourceStat, type SourceWalker } from './walker.js';
import { Kind, type TreeTotals } from '../../model/entry.js';
import { digestToRemember, encodeRecord, readRecord, recordExtra, recordHolds, recordOffsets, reusableDigest } from '../../model/quick-check.js';
import { INGEST_SMALL_LIMIT, type IngestJob } from '../../store/ingest-sync.js';
import type { RawStat, ScanOther } from '../../store/source-scan.js';
import { joinPath } from '../../util/paths.js';
import { asBuffer } from '../../util/buffers.js';
import { allSettledOrThrow } from '../../util/limit.js';
import { ErrnoError } from '../../errors.js';

/** Files per message to an ingest worker: enough to amortise the message, small for balance. */
const INGEST_BATCH = 64;
/** Folders walked concurrently, over the whole take (see descend()). */
const MAX_DIRS_IN_FLIGHT = 64;
/** A subfolder that cannot be listed for these reasons is skipped with a warning. */
const READDIR_SKIPPABLE = new Set(['EACCES', 'EPERM', 'ENOENT', 'ENOTDIR']);

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR } = fs.constants;

/** A scan worker's lstat result with the BigIntStats type tests. */
class ScannedStat implements SourceStat {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly mode: bigint;
  readonly uid: bigint;
  readonly gid: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  constructor(r: RawStat) {
    this.dev = r.dev;
    this.ino = r.ino;
    this.mode = r.mode;
    this.uid = r.uid;
    this.gid = r.gid;
    this.size = r.size;
    this.mtimeNs = r.mtimeNs;
    this.ctimeNs = r.ctimeNs;
  }
  private type(): number {
    return Number(this.mode) & S_IFMT;
  }
  isFile(): boolean {
    return this.type() === S_IFREG;
  }
  isDirectory(): boolean {
    return this.type() === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return this.type() === S_IFLNK;
  }
  isFIFO(): boolean {
    return this.type() === S_IFIFO;
  }
  isSocket(): boolean {
    return this.type() === S_IFSOCK;
  }
  isCharacterDevice(): boolean {
    return this.type() === S_IFCHR;
  }
}

interface Subfolder {
  k: number;
  name: Buffer;
  st: SourceStat;
  /** Offset of its record, when it had one. */
  rec: number | undefined;
}

export class FolderWalk {
  /** The folder's records from the last take (none: first take, --checksum, new folder). */
  private readonly records: Buffer | undefined;
  private readonly remembered: Buffer | undefined;
  private readonly offs: number[];
  private linkedMask: Uint8Array;
  private others: ScanOther[] = [];
  /** Records accounted for by an entry seen now / whose name is (still) a folder walked now. */
  private readonly matched: Uint8Array;
  private readonly stillDir: Uint8Array;
  private placed: (Placed | undefined)[] = [];
  private readonly pending: Promise<void>[] = [];
  private readonly jobs: { k: number; job: IngestJob; st: SourceStat }[] = [];
  private readonly subdirs: Subfolder[] = [];
  private changed: boolean;

  /** Walk the source folder `src` into the existing (empty) staging folder `dest`. */
  static walkSource(w: SourceWalker, src: Buffer, dest: Buffer): Promise<FolderResult> {
    return new FolderWalk(w, src, Buffer.alloc(0), dest).run();
  }

  private constructor(
    private readonly w: SourceWalker,
    private readonly src: Buffer,
    private readonly rel: Buffer,
    private readonly dest: Buffer,
  ) {
    const row = w.opts.checksum ? undefined : w.root.catalog.quickCheck(rel);
    this.records = row?.records;
    this.remembered = row?.digest;
    this.offs = row ? recordOffsets(row.records) : [0];
    const count = this.offs.length - 1;
    this.linkedMask = new Uint8Array(count);
    this.matched = new Uint8Array(count);
    this.stillDir = new Uint8Array(count);
    this.changed = row === undefined; // no records: the tree must be built and recorded
  }

  async run(): Promise<FolderResult> {
    await this.scan();
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
    return this.reuseOrBuildTree();
  }

  private get recordCount(): number {
    return this.offs.length - 1;
  }

  private at(name: Buffer): EntryAt {
    return { src: joinPath(this.src, name), dest: joinPath(this.dest, name), rel: joinPath(this.rel, name), name };
  }

  // ---- scan -----------------------------------------------------------------------------------

  private async scan(): Promise<void> {
    const { w } = this;
    const scan = await w.pool.scan({
      srcDir: this.src,
      stageDir: this.dest,
      objectsDir: w.root.layout.objects,
      records: this.records,
      link: !testLinkLimitActive(), // the simulated limit is only counted by placer.link
    });
    if ('error' in scan) {
      if (this.rel.length === 0 || !READDIR_SKIPPABLE.has(scan.error)) {
        throw new ErrnoError(scan.error, `${scan.error}: cannot list ${this.src.toString()}`, this.src.toString());
      }
      const vanished = scan.error === 'ENOENT' || scan.error === 'ENOTDIR';
      w.warnings.add(vanished ? 'vanished' : 'unreadable', this.rel, `folder contents skipped: ${scan.error}`);
      return;
    }
    this.linkedMask = scan.linkedMask;
    this.others = scan.others;
    this.placed = new Array(scan.others.length);
    if (scan.linked > 0) {
      w.counters.reusedFiles += scan.linked;
      w.opts.onFile?.(scan.linkedBytes, scan.linked);
    }
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
      const st = new ScannedStat(o.st);
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

  /** Unchanged, but the worker did not link it (link limit, object missing, test seam). */
  private unchangedFile(k: number, o: ScanOther, at: EntryAt, st: SourceStat): void {
    if (o.linkErr && o.linkErr !== 'EMLINK' && o.linkErr !== 'ENOENT') {
      throw new ErrnoError(o.linkErr, `${o.linkErr}: cannot link ${at.rel.toString()} into the snapshot`);
    }
    this.matched[o.rec] = 1;
    const known = recordExtra(this.records!, this.offs[o.rec]!);
    this.pending.push(
      this.w.limiter.run(async () => {
        const p = (this.placed[k] = await this.w.file(at, st, known));
        if (!p || !p.input.entry.hash!.equals(known)) this.changed = true;
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
    const { w } = this;
    for (let b = 0; b < this.jobs.length; b += INGEST_BATCH) {
      const slice = this.jobs.slice(b, b + INGEST_BATCH);
      this.pending.push(
        w.pool
          .run({ srcDir: this.src, stageDir: this.dest, objectsDir: w.root.layout.objects, asRoot: w.root.asRoot, files: slice.map((j) => j.job) })
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
   * Subfolders are walked while this folder's files are still with the workers, and several
   * siblings at once. At most MAX_DIRS_IN_FLIGHT folders (plus one per level of depth, so every
   * chain can progress) are open at a time: memory stays bounded by that, not by the tree.
   */
  private async descend(): Promise<void> {
    const { w } = this;
    const running: { d: Subfolder; work: Promise<FolderResult> }[] = [];
    try {
      for (const d of this.subdirs) {
        const at = this.at(d.name);
        fs.mkdirSync(at.dest, { mode: 0o700 });
        while (running.length > 0 && w.dirsInFlight >= MAX_DIRS_IN_FLIGHT) {
          const done = running.shift()!;
          this.finishSubfolder(done.d, await done.work);
        }
        w.dirsInFlight++;
        const work = new FolderWalk(w, at.src, at.rel, at.dest).run().finally(() => w.dirsInFlight--);
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
    finishDirSync(joinPath(this.dest, d.name), meta, this.w.root.asRoot);
    this.placed[d.k] = {
      input: { entry: { name: d.name, kind: Kind.Dir, ...meta, size: 0, subtree: sub.tree }, childDigest: sub.digest, totals: sub.totals },
      // Folders are listed again every take, so their records need no racy window.
      record: encodeRecord({ kind: Kind.Dir, name: d.name, ...meta, dev: d.st.dev, ino: d.st.ino, size: d.st.size, ctimeNs: d.st.ctimeNs, extra: sub.digest }),
    };
    const same = d.rec !== undefined && recordHolds(this.records!, d.rec, Kind.Dir, d.st) && recordExtra(this.records!, d.rec).equals(sub.digest);
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
      if (r.kind === Kind.Dir && !this.stillDir[i]) this.w.root.catalog.dropQuickCheckBelow(joinPath(this.rel, r.name));
    }
  }

  // ---- tree -----------------------------------------------------------------------------------

  private reuseOrBuildTree(): FolderResult {
    const { catalog } = this.w.root;
    const digest = this.changed ? undefined : reusableDigest(this.remembered!);
    if (digest) {
      // Every entry is exactly as recorded: so is the tree.
      const known = catalog.findTreeWithTotals(digest);
      if (known) return { tree: known.id, digest, totals: known.totals };
    }
    return this.buildTree();
  }

  /** Build the tree: the files the worker linked from their records, the rest from what was placed now. */
  private buildTree(): FolderResult {
    const { catalog } = this.w.root;
    const all: Placed[] = [];
    for (let i = 0; i < this.recordCount; i++) {
      if (!this.linkedMask[i]) continue;
      const r = readRecord(this.records!, this.offs[i]!);
      all.push({
        input: { entry: { name: r.name, kind: Kind.File, mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs, size: Number(r.size), hash: r.extra } },
        record: this.records!.subarray(this.offs[i]!, this.offs[i + 1]!),
      });
    }
    for (const p of this.placed) if (p) all.push(p);
    all.sort((a, b) => Buffer.compare(a.input.entry.name, b.input.entry.name));

    const totals: TreeTotals = { files: 0, dirs: 0, bytes: 0 };
    for (const { input } of all) {
      if (input.entry.kind === Kind.File) {
        totals.files++;
        totals.bytes += input.entry.size;
      } else if (input.entry.kind === Kind.Dir) {
        const sub = input.totals!;
        totals.dirs += 1 + sub.dirs;
        totals.files += sub.files;
        totals.bytes += sub.bytes;
      }
    }
    const inputs = all.map((p) => p.input);
    const digest = treeDigest(inputs);
    const tree = catalog.putTree(
      digest,
      totals,
      inputs.map((i) => i.entry),
    );
    const records = all.flatMap((p) => (p.record ? [p.record] : []));
    catalog.putQuickCheck(this.rel, digestToRemember(digest, all.length, records.length), Buffer.concat(records));
    return { tree, digest, totals };
  }
}

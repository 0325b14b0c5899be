/**
 * The heart of `take`: walk the source folder by folder, store new content, hard-link every file
 * into the staging folder, and record each folder as a tree record. Memory holds one folder's
 * listing per level of depth (and a bounded number of folders in flight), never the whole tree.
 *
 * Per folder, a scan worker (src/store/source-scan.ts) lists and lstats it and links every file
 * its quick-check record (src/model/quick-check.ts) vouches for; only the rest comes back here:
 * subfolders, symlinks, new or changed files. When nothing in a folder changed, its tree digest
 * is the one the record remembers and the tree row is reused without being rebuilt — a
 * no-change take touches the catalog once per folder, not once per file.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Root } from '../shared/root.js';
import { ObjectPlacer, ObjectMissing, testLinkLimitActive, type ContentSource } from '../shared/object-placer.js';
import { finishDirSync, placeSymlinkSync } from '../shared/place.js';
import { treeDigest, type DigestInput } from '../shared/tree-digest.js';
import { Warnings } from '../shared/warnings.js';
import { Kind, type EntryMeta, type TreeTotals } from '../../model/entry.js';
import { encodeRecord, readRecord, recordHolds, recordOffsets, type DirRecord } from '../../model/quick-check.js';
import { nsToUs, type ObjectKey } from '../../store/layout.js';
import { NotARegularFile, readSourceFile, type ReadResult } from '../../store/blobfile.js';
import { joinPath, showName } from '../../util/paths.js';
import { asBuffer } from '../../util/buffers.js';
import { Limiter, allSettledOrThrow } from '../../util/limit.js';
import { errnoCode } from '../../errors.js';
import { INGEST_SMALL_LIMIT, type IngestJob, type IngestResult } from '../../store/ingest-sync.js';
import type { IngestPool } from '../../store/ingest-pool.js';
import type { RawStat, ScanOther } from '../../store/source-scan.js';

/** Files per message to an ingest worker: enough to amortise the message, small for balance. */
const INGEST_BATCH = 64;
/** Folders walked concurrently (see dir()). */
const MAX_DIRS_IN_FLIGHT = 64;

/** The lstat fields a take uses; fs.BigIntStats has them, and so does a worker's RawStat view. */
export type SourceStat = Pick<
  fs.BigIntStats,
  'dev' | 'ino' | 'mode' | 'uid' | 'gid' | 'size' | 'mtimeNs' | 'ctimeNs' | 'isFile' | 'isDirectory' | 'isSymbolicLink' | 'isFIFO' | 'isSocket' | 'isCharacterDevice'
>;

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

/** One entry of a folder being built: its tree input and its new quick-check record, if any. */
interface Placed {
  input: DigestInput & { totals?: TreeTotals };
  /** The record to remember; undefined when the entry must be looked at again next time. */
  record?: Buffer;
}

type StatLike = Pick<fs.BigIntStats, 'dev' | 'ino' | 'size' | 'mtimeNs' | 'ctimeNs'>;

/**
 * A file whose mtime or ctime is this close to the take's start is not trusted to the cache: a
 * change within the same timestamp tick could leave size, mtime and ctime as we saw them. 2 s
 * covers the coarsest clocks (FAT, some network file systems).
 */
export const DEFAULT_RACY_WINDOW_MS = 2000;
/** Re-read a file that changes while being read at most this many times. */
const MAX_READ_ATTEMPTS = 4;

export interface WalkOptions {
  checksum: boolean;
  startedNs: bigint;
  racyWindowMs?: number;
  /** True for a source path that must be left out (excludes); rel is relative to the source. */
  exclude?: (rel: Buffer, isDir: boolean) => boolean;
  /** Progress: `files` files (default 1) of `bytes` bytes are in the snapshot. */
  onFile?: (bytes: number, files?: number) => void;
  /** Test seams: run just before a source file is opened for reading. */
  hooks?: { beforeRead?: (abs: Buffer) => Promise<void> | void };
}

export interface DirResult {
  tree: number;
  digest: Buffer;
  totals: TreeTotals;
}

export interface WalkCounters {
  hashedFiles: number;
  hashedBytes: number;
  reusedFiles: number;
  symlinks: number;
}

function metaOf(st: SourceStat): EntryMeta {
  return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs };
}

function sameStat(a: StatLike, b: StatLike): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

function entryOfRecord(r: DirRecord): DigestInput['entry'] {
  const meta = { mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs };
  return { name: r.name, kind: Kind.File, ...meta, size: Number(r.size), hash: r.extra };
}

const NO_DIGEST = Buffer.alloc(0);

const READDIR_SKIPPABLE = new Set(['EACCES', 'EPERM', 'ENOENT', 'ENOTDIR']);

export class SourceWalker {
  readonly placer: ObjectPlacer;
  readonly warnings = new Warnings();
  readonly counters: WalkCounters = { hashedFiles: 0, hashedBytes: 0, reusedFiles: 0, symlinks: 0 };
  private readonly limiter = new Limiter(16);
  private dirsInFlight = 0;
  private readonly racyFromNs: bigint;

  constructor(
    private readonly root: Root,
    private readonly pool: IngestPool,
    private readonly opts: WalkOptions,
  ) {
    this.placer = new ObjectPlacer(root);
    this.racyFromNs = opts.startedNs - BigInt(opts.racyWindowMs ?? DEFAULT_RACY_WINDOW_MS) * 1_000_000n;
  }

  /**
   * Walk `srcAbs` (the folder at `rel` in the source) into the existing folder `stageAbs`.
   *
   * The scan runs in a worker; here each entry it returns is decided: subfolders are walked
   * (several siblings at once, so both cores stay busy), symlinks placed, new or changed small
   * files sent to the ingest workers in batches, the rest read on the thread pool. `changed`
   * tracks whether the folder's tree can differ from the one its record remembers.
   */
  async dir(srcAbs: Buffer, rel: Buffer, stageAbs: Buffer): Promise<DirResult> {
    const { catalog } = this.root;
    const cache = this.opts.checksum ? undefined : catalog.getDirCache(rel);
    const offs = cache ? recordOffsets(cache.records) : [0];
    const recCount = offs.length - 1;
    const recordAt = (i: number) => readRecord(cache!.records, offs[i]!);

    const scan = await this.pool.scan({
      srcDir: srcAbs,
      stageDir: stageAbs,
      objectsDir: this.root.layout.objects,
      records: cache?.records,
      link: !testLinkLimitActive(), // the simulated limit is only counted by placer.link
    });
    let linkedMask: Uint8Array = new Uint8Array(recCount);
    let others: ScanOther[] = [];
    if ('error' in scan) {
      if (rel.length === 0 || !READDIR_SKIPPABLE.has(scan.error)) {
        throw Object.assign(new Error(`${scan.error}: cannot list ${srcAbs.toString()}`), { code: scan.error, path: srcAbs.toString() });
      }
      const vanished = scan.error === 'ENOENT' || scan.error === 'ENOTDIR';
      this.warnings.add(vanished ? 'vanished' : 'unreadable', rel, `folder contents skipped: ${scan.error}`);
    } else {
      linkedMask = scan.linkedMask;
      others = scan.others;
      if (scan.linked > 0) {
        this.counters.reusedFiles += scan.linked;
        this.opts.onFile?.(scan.linkedBytes, scan.linked);
      }
    }

    // No record yet (first take, --checksum, new folder): the tree must be built and recorded.
    let changed = cache === undefined;
    const matched = new Uint8Array(recCount); // records accounted for by an entry seen now
    const stillDir = new Uint8Array(recCount); // records whose name is (still) a folder walked now
    const placed: (Placed | undefined)[] = new Array(others.length);
    const pending: Promise<void>[] = [];
    const jobs: { k: number; job: IngestJob; st: SourceStat }[] = [];
    const subdirs: { k: number; name: Buffer; st: SourceStat; rec: DirRecord | undefined }[] = [];

    for (let k = 0; k < others.length; k++) {
      const o = others[k]!;
      const name = asBuffer(o.name);
      const rec = o.rec >= 0 ? recordAt(o.rec) : undefined;
      const childRel = joinPath(rel, name);
      if (!o.st) {
        const err = Object.assign(new Error(`${o.err}: cannot lstat ${showName(childRel)}`), { code: o.err });
        this.skipOnRace(err, childRel, 'listed but gone before it could be read');
        continue; // its record, if any, stays unmatched: the folder changed
      }
      const st = new ScannedStat(o.st);
      if (st.isDirectory()) {
        if (this.opts.exclude?.(childRel, true)) continue;
        subdirs.push({ k, name, st, rec });
        if (o.rec >= 0) stillDir[o.rec] = 1;
        continue;
      }
      if (this.opts.exclude?.(childRel, false)) continue;
      if (st.isSymbolicLink()) {
        const same = recordHolds(rec, Kind.Symlink, st);
        const p = this.symlink(srcAbs, stageAbs, rel, name, st, same ? rec.extra : undefined);
        if (!p) continue;
        placed[k] = p;
        if (same) matched[o.rec] = 1;
        else changed = true;
        continue;
      }
      if (!st.isFile()) {
        // FIFOs, sockets, devices are not stored: a warning every time, and no entry.
        pending.push(this.limiter.run(async () => void (placed[k] = await this.leaf(srcAbs, stageAbs, rel, name, st, undefined))));
        continue;
      }
      if (recordHolds(rec, Kind.File, st)) {
        // Unchanged, but the worker did not link it (link limit, object missing, test seam).
        if (o.linkErr && o.linkErr !== 'EMLINK' && o.linkErr !== 'ENOENT') {
          throw Object.assign(new Error(`${o.linkErr}: cannot link ${showName(childRel)} into the snapshot`), { code: o.linkErr });
        }
        matched[o.rec] = 1;
        const known = rec.extra;
        pending.push(
          this.limiter.run(async () => {
            placed[k] = await this.file(srcAbs, stageAbs, rel, name, st, known);
            if (!placed[k] || !placed[k]!.input.entry.hash!.equals(known)) changed = true;
          }),
        );
        continue;
      }
      changed = true;
      // (Test seams that must run before each read, or count links, keep files on the careful path.)
      if (st.size <= BigInt(INGEST_SMALL_LIMIT) && !this.opts.hooks?.beforeRead && !testLinkLimitActive()) {
        jobs.push({ k, job: { name, dev: st.dev, ino: st.ino }, st });
        continue;
      }
      pending.push(this.limiter.run(async () => void (placed[k] = await this.leaf(srcAbs, stageAbs, rel, name, st, undefined))));
    }

    // New or changed small files go to the ingest workers in batches; the results come back here
    // for the catalog (the workers never touch SQLite).
    for (let b = 0; b < jobs.length; b += INGEST_BATCH) {
      const slice = jobs.slice(b, b + INGEST_BATCH);
      pending.push(
        this.pool
          .run({ srcDir: srcAbs, stageDir: stageAbs, objectsDir: this.root.layout.objects, asRoot: this.root.asRoot, files: slice.map((j) => j.job) })
          .then((results) =>
            allSettledOrThrow(slice, async (j, i) => {
              placed[j.k] = await this.ingested(srcAbs, stageAbs, rel, j.job.name, j.st, results[i]!);
            }),
          )
          .then(() => undefined),
      );
    }

    // Subfolders are walked while this folder's files are still with the workers, and several
    // siblings at once. At most MAX_DIRS_IN_FLIGHT folders (plus one per level of depth, so
    // every chain can progress) are open at a time: memory stays bounded by that, not by the
    // size of the tree.
    const running: { d: (typeof subdirs)[number]; work: Promise<DirResult> }[] = [];
    const finishChild = async ({ d, work }: (typeof running)[number]) => {
      const sub = await work;
      const meta = metaOf(d.st);
      finishDirSync(joinPath(stageAbs, d.name), meta, this.root.asRoot);
      const entry = { name: d.name, kind: Kind.Dir, ...meta, size: 0, subtree: sub.tree };
      placed[d.k] = {
        input: { entry, childDigest: sub.digest, totals: sub.totals },
        record: encodeRecord({ kind: Kind.Dir, name: d.name, ...meta, dev: d.st.dev, ino: d.st.ino, size: 0n, ctimeNs: d.st.ctimeNs, extra: sub.digest }),
      };
      const r = d.rec;
      const same = r?.kind === Kind.Dir && r.mode === meta.mode && r.uid === meta.uid && r.gid === meta.gid && r.mtimeNs === meta.mtimeNs && r.extra.equals(sub.digest);
      if (same) matched[others[d.k]!.rec] = 1;
      else changed = true;
    };
    try {
      for (const d of subdirs) {
        if (d.rec && d.rec.kind !== Kind.Dir) changed = true;
        const childStage = joinPath(stageAbs, d.name);
        fs.mkdirSync(childStage, { mode: 0o700 });
        while (running.length > 0 && this.dirsInFlight >= MAX_DIRS_IN_FLIGHT) await finishChild(running.shift()!);
        this.dirsInFlight++;
        const work = this.dir(joinPath(srcAbs, d.name), joinPath(rel, d.name), childStage).finally(() => this.dirsInFlight--);
        work.catch(() => {}); // surfaced when awaited below
        running.push({ d, work });
      }
      while (running.length > 0) await finishChild(running.shift()!);
    } finally {
      // Never leave work running behind a failure: it could write into a folder being removed.
      await Promise.allSettled([...running.map((r) => r.work), ...pending]);
    }
    await allSettledOrThrow(pending, (p) => p);

    // Records no entry accounts for: names that are gone, changed or excluded now. A folder
    // that is no longer one (or no longer walked) takes its own records with it.
    for (let i = 0; i < recCount; i++) {
      if (linkedMask[i] || matched[i]) continue;
      changed = true;
      const r = recordAt(i);
      if (r.kind === Kind.Dir && !stillDir[i]) catalog.deleteDirCacheSubtree(joinPath(rel, r.name));
    }

    if (!changed && cache!.digest.length > 0) {
      // Every entry is exactly as recorded: so is the tree.
      const known = catalog.findTreeWithTotals(cache!.digest);
      if (known) return { tree: known.id, digest: cache!.digest, totals: known.totals };
    }

    // Build the tree: the linked files from their records, the rest from what was placed now.
    const all: Placed[] = [];
    for (let i = 0; i < recCount; i++) {
      if (!linkedMask[i]) continue;
      const r = recordAt(i);
      all.push({ input: { entry: entryOfRecord(r) }, record: cache!.records.subarray(offs[i]!, offs[i + 1]!) });
    }
    for (const p of placed) if (p) all.push(p);
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
    // An entry without a record (changed too recently to trust) will be looked at again, and
    // with it the folder: an empty digest means "never reuse this folder's tree as is".
    const records = all.flatMap((p) => (p.record ? [p.record] : []));
    catalog.putDirCache(rel, records.length === all.length ? digest : NO_DIGEST, Buffer.concat(records));
    return { tree, digest, totals };
  }

  private lstatSync(abs: Buffer, rel: Buffer): fs.BigIntStats | undefined {
    try {
      return fs.lstatSync(abs, { bigint: true });
    } catch (e) {
      this.skipOnRace(e, rel, 'listed but gone before it could be read');
      return undefined;
    }
  }

  /** A symlink, kept as a symlink; `knownTarget` comes from its record when that still holds. */
  private symlink(srcDir: Buffer, stageDir: Buffer, rel: Buffer, name: Buffer, st: SourceStat, knownTarget: Buffer | undefined): Placed | undefined {
    const childRel = joinPath(rel, name);
    let target = knownTarget;
    if (!target) {
      try {
        target = fs.readlinkSync(joinPath(srcDir, name), { encoding: 'buffer' });
      } catch (e) {
        return this.skipOnRace(e, childRel);
      }
    }
    const meta = metaOf(st);
    placeSymlinkSync(target, joinPath(stageDir, name), meta, this.root.asRoot);
    this.counters.symlinks++;
    return {
      input: { entry: { name, kind: Kind.Symlink, ...meta, size: target.length, target } },
      record: this.recordFor(Kind.Symlink, name, st, meta, target),
    };
  }

  /**
   * The quick-check record of a file or symlink, or undefined when it changed too recently to
   * be trusted next time: a change within the same timestamp tick could leave size, mtime and
   * ctime as we saw them (git's "racy clean" problem), so it is looked at again.
   */
  private recordFor(kind: Kind, name: Buffer, st: StatLike, meta: EntryMeta, extra: Buffer): Buffer | undefined {
    if (st.mtimeNs >= this.racyFromNs || st.ctimeNs >= this.racyFromNs) return undefined;
    return encodeRecord({ kind, name, ...meta, dev: st.dev, ino: st.ino, size: st.size, ctimeNs: st.ctimeNs, extra });
  }

  /** Fold one ingest worker result into the catalog (objects row, entry, record). */
  private async ingested(srcDir: Buffer, stageDir: Buffer, rel: Buffer, name: Buffer, st: SourceStat, r: IngestResult): Promise<Placed | undefined> {
    const childRel = joinPath(rel, name);
    if (r.status === 'slow') return this.limiter.run(() => this.leaf(srcDir, stageDir, rel, name, st, undefined));
    if (r.status === 'error') return this.skipOnRace(Object.assign(new Error(r.code), { code: r.code }), childRel);
    const meta = { mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs };
    const hash = asBuffer(r.hash);
    const key: ObjectKey = { hash, ...meta, mtimeUs: nsToUs(r.mtimeNs) };
    const { catalog } = this.root;
    catalog.ensureObject(key, r.size);
    if (r.created) {
      this.placer.newObjects++;
      this.placer.newBytes += r.size;
    }
    if (!r.linked) await this.placer.link(key, joinPath(stageDir, name)); // link limit: replicas
    if (r.changing) this.warnings.add('changing', childRel, `kept changing while being read; stored the last version read`);
    this.counters.hashedFiles++;
    this.counters.hashedBytes += r.size;
    this.opts.onFile?.(r.size);
    const seen = { dev: r.dev, ino: r.ino, size: BigInt(r.size), mtimeNs: r.mtimeNs, ctimeNs: r.ctimeNs };
    return {
      input: { entry: { name, kind: Kind.File, ...meta, size: r.size, hash } },
      record: r.changing ? undefined : this.recordFor(Kind.File, name, seen, meta, hash),
    };
  }

  /** A file or special file on the careful path; undefined when it is skipped (with a warning). */
  private async leaf(srcDir: Buffer, stageDir: Buffer, rel: Buffer, name: Buffer, st: SourceStat, knownHash: Buffer | undefined): Promise<Placed | undefined> {
    // (Symlinks never get here: symlink() places them.)
    if (!st.isFile()) {
      const what = st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'character device' : 'block device';
      this.warnings.add('special', joinPath(rel, name), `${what} not stored`);
      return undefined;
    }
    return this.file(srcDir, stageDir, rel, name, st, knownHash);
  }

  private skipOnRace(e: unknown, rel: Buffer, goneWhy = 'gone before it could be read'): undefined {
    const code = errnoCode(e);
    if (code === 'ENOENT') this.warnings.add('vanished', rel, goneWhy);
    else if (code === 'EACCES' || code === 'EPERM') this.warnings.add('unreadable', rel, `skipped: ${code}`);
    else if (code === 'EINVAL' || code === 'ELOOP' || e instanceof NotARegularFile) this.warnings.add('vanished', rel, 'replaced by something else while being read');
    else throw e;
    return undefined;
  }

  /**
   * A regular file on the careful path (large, or a link the worker could not make). With
   * `knownHash` the quick check vouched for its content, so it is only linked.
   */
  private async file(srcDir: Buffer, stageDir: Buffer, rel: Buffer, name: Buffer, st: SourceStat, knownHash: Buffer | undefined): Promise<Placed | undefined> {
    const abs = joinPath(srcDir, name);
    const dest = joinPath(stageDir, name);
    const childRel = joinPath(rel, name);
    let meta = metaOf(st);
    let hash: Buffer;
    let size: number;
    let statForCache: StatLike = st;
    let changing = false;
    if (knownHash && !this.opts.checksum) {
      hash = knownHash;
      size = Number(st.size);
      this.counters.reusedFiles++;
    } else {
      const read = await this.readStable(abs, childRel, st);
      if (!read) return undefined;
      hash = read.hash;
      size = read.size;
      meta = metaOf(read.before);
      statForCache = read.before;
      changing = read.changing;
      const key: ObjectKey = { hash, ...meta, mtimeUs: nsToUs(meta.mtimeNs) };
      await this.placer.ensure(key, size, read as ContentSource);
      this.counters.hashedFiles++;
      this.counters.hashedBytes += size;
    }
    const key: ObjectKey = { hash, ...meta, mtimeUs: nsToUs(meta.mtimeNs) };
    try {
      await this.placer.link(key, dest);
    } catch (e) {
      if (!(e instanceof ObjectMissing)) throw e;
      // The store lost this object (deleted by hand?): rebuild it from the source if it still
      // has the same content, else store what the source has now.
      const read = await this.readStable(abs, childRel, st);
      if (!read) return undefined;
      if (!read.hash.equals(hash)) {
        await this.discard(read);
        return this.file(srcDir, stageDir, rel, name, st, undefined);
      }
      await this.placer.ensure(key, size, read as ContentSource, true);
      await this.placer.link(key, dest);
    }
    this.opts.onFile?.(size);
    return {
      input: { entry: { name, kind: Kind.File, ...meta, size, hash } },
      record: changing ? undefined : this.recordFor(Kind.File, name, statForCache, meta, hash),
    };
  }

  private async discard(read: ReadResult): Promise<void> {
    if (read.tmpPath) await fsp.rm(read.tmpPath, { force: true });
  }

  /**
   * Read until two fstat()s around the read agree (size, mtime, ctime): then the bytes are one
   * version of the file. A file that never settles is stored as last read, with a warning; the
   * blob always matches its hash because we hash exactly the bytes we store.
   */
  private async readStable(abs: Buffer, rel: Buffer, st: SourceStat): Promise<(ReadResult & { changing: boolean }) | undefined> {
    let expect = { dev: st.dev, ino: st.ino };
    for (let attempt = 1; ; attempt++) {
      let read: ReadResult;
      try {
        await this.opts.hooks?.beforeRead?.(abs);
        read = await readSourceFile(abs, expect, this.root.layout.tmp, true);
      } catch (e) {
        if (e instanceof NotARegularFile && attempt < MAX_READ_ATTEMPTS) {
          // Replaced by a new file (a sync tool's rename): read the new one if it is a file.
          const again = this.lstatSync(abs, rel);
          if (!again) return undefined;
          if (!again.isFile()) return this.skipOnRace(e, rel);
          expect = { dev: again.dev, ino: again.ino };
          continue;
        }
        return this.skipOnRace(e, rel);
      }
      if (sameStat(read.before, read.after) && BigInt(read.size) === read.after.size) return { ...read, changing: false };
      if (attempt >= MAX_READ_ATTEMPTS) {
        this.warnings.add('changing', rel, `kept changing while being read (${attempt} attempts); stored the last version read`);
        return { ...read, changing: true };
      }
      await this.discard(read);
    }
  }
}

/**
 * The heart of `take`: walk the source folder by folder, store new content, hard-link every file
 * into the staging folder, and record each folder as a tree record. Memory holds one folder's
 * listing per level of depth, never the whole tree. Files of a folder are handled concurrently
 * (the limiter bounds the I/O in flight); subfolders one after another, depth first.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Root } from './root.js';
import { ObjectPlacer, ObjectMissing, testLinkLimitActive, type ContentSource } from './objects.js';
import { finishDirSync, placeSymlinkSync } from './place.js';
import { treeDigest, type DigestInput } from './tree-digest.js';
import { Warnings } from './warnings.js';
import { Kind, type Entry, type EntryMeta, type TreeTotals } from '../model/entry.js';
import type { StatRow } from '../index/catalog.js';
import { nsToUs, type ObjectKey } from '../store/layout.js';
import { NotARegularFile, readSourceFile, type ReadResult } from '../store/blobfile.js';
import { joinPath } from '../util/paths.js';
import { Limiter, allSettledOrThrow } from '../util/limit.js';
import { errnoCode } from '../errors.js';
import { INGEST_SMALL_LIMIT, type IngestJob, type IngestResult } from '../store/ingest-sync.js';
import type { IngestPool } from '../store/ingest-pool.js';

/** Files per message to an ingest worker: enough to amortise the message, small for balance. */
const INGEST_BATCH = 64;
/** Links per message for unchanged files: a link is cheap, so batches are larger. */
const LINK_BATCH = 256;
/** Folders walked concurrently (see dir()). */
const MAX_DIRS_IN_FLIGHT = 64;

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
  onFile?: (bytes: number) => void;
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

function metaOf(st: fs.BigIntStats): EntryMeta {
  return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs };
}

function sameStat(a: fs.BigIntStats, b: fs.BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

function cacheHit(row: StatRow | undefined, st: fs.BigIntStats): Buffer | undefined {
  if (!row || !row.hash) return undefined;
  return row.dev === st.dev && row.ino === st.ino && row.size === st.size && row.mtimeNs === st.mtimeNs && row.ctimeNs === st.ctimeNs
    ? row.hash
    : undefined;
}

export class SourceWalker {
  readonly placer: ObjectPlacer;
  readonly warnings = new Warnings();
  readonly counters: WalkCounters = { hashedFiles: 0, hashedBytes: 0, reusedFiles: 0, symlinks: 0 };
  private readonly limiter = new Limiter(16);
  private dirsInFlight = 0;

  constructor(
    private readonly root: Root,
    private readonly pool: IngestPool,
    private readonly opts: WalkOptions,
  ) {
    this.placer = new ObjectPlacer(root);
  }

  /**
   * Walk `srcAbs` (the folder at `rel` in the source) into the existing folder `stageAbs`.
   *
   * Metadata-only work (lstat, link of an unchanged file, symlinks, folders) uses synchronous
   * syscalls: it is one syscall each and the async machinery cost more than the syscall. Files
   * that must be read go to the limiter and run concurrently on the thread pool meanwhile.
   */
  async dir(srcAbs: Buffer, rel: Buffer, stageAbs: Buffer): Promise<DirResult> {
    const { catalog } = this.root;
    let names: Buffer[];
    try {
      names = fs.readdirSync(srcAbs, { encoding: 'buffer' });
    } catch (e) {
      const code = errnoCode(e);
      if (rel.length > 0 && (code === 'EACCES' || code === 'EPERM' || code === 'ENOENT' || code === 'ENOTDIR')) {
        this.warnings.add(code === 'ENOENT' || code === 'ENOTDIR' ? 'vanished' : 'unreadable', rel, `folder contents skipped: ${code}`);
        names = [];
      } else throw e;
    }
    names.sort(Buffer.compare);
    const cache = catalog.statCacheDir(rel);
    const seen = new Set<string>();
    const items: (DigestInput | undefined)[] = new Array(names.length);
    const stats: (fs.BigIntStats | undefined)[] = new Array(names.length);
    const pending: Promise<void>[] = [];
    const jobs: { i: number; job: IngestJob; cached: StatRow | undefined }[] = [];
    const linkJobs: { i: number; name: Buffer; objPath: string; cached: StatRow | undefined }[] = [];

    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const childRel = joinPath(rel, name);
      const st = (stats[i] = this.lstatSync(joinPath(srcAbs, name), childRel));
      if (!st || st.isDirectory()) continue;
      if (this.opts.exclude?.(childRel, false)) continue;
      const key = name.toString('latin1');
      const cached = cache.get(key);
      // It was a folder last time: drop that folder's cache rows.
      if (cached && cached.hash === null) catalog.deleteStatSubtree(childRel);
      const fast = this.leafSync(srcAbs, stageAbs, rel, name, st, cached, (objPath) => linkJobs.push({ i, name, objPath, cached }));
      if (fast !== 'slow') {
        items[i] = fast;
        if (fast) seen.add(key);
        continue;
      }
      // (Test seams that must run before each read, or count links, keep files on the careful path.)
      if (st.isFile() && st.size <= BigInt(INGEST_SMALL_LIMIT) && !this.opts.hooks?.beforeRead && !testLinkLimitActive()) {
        jobs.push({ i, job: { name, dev: st.dev, ino: st.ino }, cached });
        continue;
      }
      pending.push(
        this.limiter.run(async () => {
          items[i] = await this.leaf(srcAbs, stageAbs, rel, name, st, cached);
          if (items[i]) seen.add(key);
        }),
      );
    }
    // New or changed small files go to the ingest workers in batches; the results come back here
    // for the catalog (the workers never touch SQLite).
    for (let b = 0; b < jobs.length; b += INGEST_BATCH) {
      const slice = jobs.slice(b, b + INGEST_BATCH);
      pending.push(
        this.pool
          .run({ srcDir: srcAbs, stageDir: stageAbs, objectsDir: this.root.layout.objects, tmpDir: this.root.layout.tmp, asRoot: this.root.asRoot, files: slice.map((j) => j.job) })
          .then((results) =>
            allSettledOrThrow(slice, async (j, k) => {
              const name = names[j.i]!;
              items[j.i] = await this.ingested(srcAbs, stageAbs, rel, name, stats[j.i]!, j.cached, results[k]!);
              if (items[j.i]) seen.add(name.toString('latin1'));
            }),
          )
          .then(() => undefined),
      );
    }

    // Unchanged files: their entries are known; the links themselves run in the workers, on the
    // other core. A link that fails (link limit, object missing) takes the careful path.
    for (let b = 0; b < linkJobs.length; b += LINK_BATCH) {
      const slice = linkJobs.slice(b, b + LINK_BATCH);
      pending.push(
        this.pool.link({ stageDir: stageAbs, links: slice.map((l) => ({ name: l.name, objPath: l.objPath })) }).then((codes) =>
          allSettledOrThrow(slice, async (l, k) => {
            if (codes[k] === '') return;
            if (codes[k] !== 'EMLINK' && codes[k] !== 'ENOENT') throw Object.assign(new Error(`${codes[k]} linking ${l.objPath}`), { code: codes[k] });
            items[l.i] = await this.limiter.run(() => this.leaf(srcAbs, stageAbs, rel, l.name, stats[l.i]!, l.cached));
          }).then(() => undefined),
        ),
      );
    }

    // Subfolders are walked while this folder's files are still with the workers, and several
    // siblings at once, so both cores stay busy. At most MAX_DIRS_IN_FLIGHT folders (plus one per
    // level of depth, so every chain can progress) are open at a time: memory stays bounded by
    // that, not by the size of the tree.
    const running: { i: number; work: Promise<DirResult> }[] = [];
    const finishChild = async ({ i, work }: { i: number; work: Promise<DirResult> }) => {
      const sub = await work;
      const st = stats[i]!;
      const name = names[i]!;
      const meta = metaOf(st);
      finishDirSync(joinPath(stageAbs, name), meta, this.root.asRoot);
      items[i] = { entry: { name, kind: Kind.Dir, ...meta, size: 0, subtree: sub.tree }, childDigest: sub.digest };
      const key = name.toString('latin1');
      seen.add(key);
      // A marker row, so that the folder's cache rows can be dropped when it disappears.
      if (!cache.has(key)) {
        catalog.putStat(rel, { name, dev: st.dev, ino: st.ino, size: 0n, mtimeNs: 0n, ctimeNs: 0n, hash: null });
      }
      (items[i] as DigestInput & { totals?: TreeTotals }).totals = sub.totals;
    };
    try {
      for (let i = 0; i < names.length; i++) {
        const st = stats[i];
        if (!st || !st.isDirectory()) continue;
        const name = names[i]!;
        const childRel = joinPath(rel, name);
        if (this.opts.exclude?.(childRel, true)) continue;
        const childStage = joinPath(stageAbs, name);
        fs.mkdirSync(childStage, { mode: 0o700 });
        while (running.length > 0 && this.dirsInFlight >= MAX_DIRS_IN_FLIGHT) await finishChild(running.shift()!);
        this.dirsInFlight++;
        const work = this.dir(joinPath(srcAbs, name), childRel, childStage).finally(() => this.dirsInFlight--);
        work.catch(() => {}); // surfaced when awaited below
        running.push({ i, work });
      }
      while (running.length > 0) await finishChild(running.shift()!);
    } finally {
      // Never leave work running behind a failure: it could write into a folder being removed.
      await Promise.allSettled([...running.map((r) => r.work), ...pending]);
    }
    await allSettledOrThrow(pending, (p) => p);

    // Forget cache rows of names that are gone (and whole vanished subfolders).
    for (const [key, row] of cache) {
      if (seen.has(key)) continue;
      if (row.hash === null) catalog.deleteStatSubtree(joinPath(rel, row.name));
      catalog.deleteStat(rel, row.name);
    }

    const present = items.filter((x): x is DigestInput => x !== undefined);
    const totals: TreeTotals = { files: 0, dirs: 0, bytes: 0 };
    for (const it of present) {
      if (it.entry.kind === Kind.File) {
        totals.files++;
        totals.bytes += it.entry.size;
      } else if (it.entry.kind === Kind.Dir) {
        const sub = (it as DigestInput & { totals: TreeTotals }).totals;
        totals.dirs += 1 + sub.dirs;
        totals.files += sub.files;
        totals.bytes += sub.bytes;
      }
    }
    const digest = treeDigest(present);
    const tree = catalog.putTree(
      digest,
      totals,
      present.map((p) => p.entry),
    );
    return { tree, digest, totals };
  }

  private lstatSync(abs: Buffer, rel: Buffer): fs.BigIntStats | undefined {
    try {
      return fs.lstatSync(abs, { bigint: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT') this.warnings.add('vanished', rel, 'listed but gone before it could be read');
      else if (code === 'EACCES' || code === 'EPERM') this.warnings.add('unreadable', rel, `skipped: ${code}`);
      else throw e;
      return undefined;
    }
  }

  /**
   * The synchronous fast path for a non-folder entry: symlinks are placed here; a file the quick
   * check trusts gets its entry here and its link queued (`linkLater`) for the workers. 'slow'
   * sends the entry on: small new files to the ingest workers, the rest to leaf().
   */
  private leafSync(
    srcDir: Buffer,
    stageDir: Buffer,
    rel: Buffer,
    name: Buffer,
    st: fs.BigIntStats,
    cached: StatRow | undefined,
    linkLater: (objPath: string) => void,
  ): DigestInput | undefined | 'slow' {
    if (st.isSymbolicLink()) {
      const childRel = joinPath(rel, name);
      let target: Buffer;
      try {
        target = fs.readlinkSync(joinPath(srcDir, name), { encoding: 'buffer' });
      } catch (e) {
        return this.skipOnRace(e, childRel);
      }
      const meta = metaOf(st);
      placeSymlinkSync(target, joinPath(stageDir, name), meta, this.root.asRoot);
      this.counters.symlinks++;
      return { entry: { name, kind: Kind.Symlink, ...meta, size: target.length, target } };
    }
    if (!st.isFile()) return 'slow';
    const hash = this.opts.checksum ? undefined : cacheHit(cached, st);
    if (!hash) return 'slow';
    const meta = metaOf(st);
    if (testLinkLimitActive()) return 'slow'; // the simulated limit is only counted by placer.link
    linkLater(this.placer.currentPath({ hash, ...meta, mtimeUs: nsToUs(meta.mtimeNs) }));
    const size = Number(st.size);
    this.counters.reusedFiles++;
    this.opts.onFile?.(size);
    return { entry: { name, kind: Kind.File, ...meta, size, hash } };
  }

  /** Fold one ingest worker result into the catalog (objects row, quick-check row, entry). */
  private async ingested(
    srcDir: Buffer,
    stageDir: Buffer,
    rel: Buffer,
    name: Buffer,
    st: fs.BigIntStats,
    cached: StatRow | undefined,
    r: IngestResult,
  ): Promise<DigestInput | undefined> {
    const childRel = joinPath(rel, name);
    if (r.status === 'slow') return this.limiter.run(() => this.leaf(srcDir, stageDir, rel, name, st, cached));
    if (r.status === 'error') return this.skipOnRace(Object.assign(new Error(r.code), { code: r.code }), childRel);
    const meta = { mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs };
    const key: ObjectKey = { hash: r.hash, ...meta, mtimeUs: nsToUs(r.mtimeNs) };
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
    this.rememberStat(rel, name, { dev: r.dev, ino: r.ino, size: BigInt(r.size), mtimeNs: r.mtimeNs, ctimeNs: r.ctimeNs }, r.hash, cached, false);
    return { entry: { name, kind: Kind.File, ...meta, size: r.size, hash: r.hash } };
  }

  /** A file or special file on the careful path; undefined when it is skipped (with a warning). */
  private async leaf(
    srcDir: Buffer,
    stageDir: Buffer,
    rel: Buffer,
    name: Buffer,
    st: fs.BigIntStats,
    cached: StatRow | undefined,
  ): Promise<DigestInput | undefined> {
    const abs = joinPath(srcDir, name);
    const childRel = joinPath(rel, name);
    const dest = joinPath(stageDir, name);
    // (Symlinks never get here: leafSync places them.)
    if (!st.isFile()) {
      const what = st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'character device' : 'block device';
      this.warnings.add('special', childRel, `${what} not stored`);
      return undefined;
    }
    return this.file(abs, dest, rel, name, st, cached);
  }

  private skipOnRace(e: unknown, rel: Buffer): undefined {
    const code = errnoCode(e);
    if (code === 'ENOENT') this.warnings.add('vanished', rel, 'gone before it could be read');
    else if (code === 'EACCES' || code === 'EPERM') this.warnings.add('unreadable', rel, `skipped: ${code}`);
    else if (code === 'EINVAL' || code === 'ELOOP' || e instanceof NotARegularFile) this.warnings.add('vanished', rel, 'replaced by something else while being read');
    else throw e;
    return undefined;
  }

  private async file(
    abs: Buffer,
    dest: Buffer,
    rel: Buffer,
    name: Buffer,
    st: fs.BigIntStats,
    cached: StatRow | undefined,
  ): Promise<DigestInput | undefined> {
    const childRel = joinPath(rel, name);
    const reuse = this.opts.checksum ? undefined : cacheHit(cached, st);
    let meta = metaOf(st);
    let hash: Buffer;
    let size: number;
    let statForCache = st;
    if (reuse) {
      hash = reuse;
      size = Number(st.size);
      this.counters.reusedFiles++;
    } else {
      const read = await this.readStable(abs, childRel, st);
      if (!read) return undefined;
      hash = read.hash;
      size = read.size;
      meta = metaOf(read.before);
      statForCache = read.before;
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
        return this.file(abs, dest, rel, name, st, undefined);
      }
      await this.placer.ensure(key, size, read as ContentSource, true);
      await this.placer.link(key, dest);
    }
    this.opts.onFile?.(size);
    this.rememberStat(rel, name, statForCache, hash, cached, reuse !== undefined);
    return { entry: { name, kind: Kind.File, ...meta, size, hash } };
  }

  private async discard(read: ReadResult): Promise<void> {
    if (read.tmpPath) await fsp.rm(read.tmpPath, { force: true });
  }

  /**
   * Read until two fstat()s around the read agree (size, mtime, ctime): then the bytes are one
   * version of the file. A file that never settles is stored as last read, with a warning; the
   * blob always matches its hash because we hash exactly the bytes we store.
   */
  private async readStable(abs: Buffer, rel: Buffer, st: fs.BigIntStats): Promise<ReadResult | undefined> {
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
      if (sameStat(read.before, read.after) && BigInt(read.size) === read.after.size) return read;
      if (attempt >= MAX_READ_ATTEMPTS) {
        this.warnings.add('changing', rel, `kept changing while being read (${attempt} attempts); stored the last version read`);
        return read;
      }
      await this.discard(read);
    }
  }

  private rememberStat(rel: Buffer, name: Buffer, st: StatLike, hash: Buffer, cached: StatRow | undefined, reused: boolean): void {
    if (reused) return; // the row is already exactly this
    const racyFrom = this.opts.startedNs - BigInt(this.opts.racyWindowMs ?? DEFAULT_RACY_WINDOW_MS) * 1_000_000n;
    if (st.mtimeNs >= racyFrom || st.ctimeNs >= racyFrom) {
      // Changed too recently to trust size+mtime+ctime next time (git's "racy clean" problem).
      if (cached) this.root.catalog.deleteStat(rel, name);
      return;
    }
    this.root.catalog.putStat(rel, { name, dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, hash });
  }
}

/**
 * The heart of `take`: walk the source folder by folder (folder-walk.ts, which starts here),
 * store new content, hard-link every file into the staging folder, and record each folder as a
 * tree record.
 *
 * This file holds what every folder of one take shares — the object placer, the warnings, the
 * counters, the bound on folders in flight — and the steps for one entry that the main thread
 * takes: a symlink, a special file, a file read here (large, or one a worker could not link),
 * and folding an ingest worker's result into the catalog. Deciding whether an entry is
 * unchanged is the quick check's (src/model/quick-check.ts), nowhere else.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Root } from '../shared/root.js';
import { ObjectPlacer, ObjectDamaged, ObjectMissing, type ContentSource } from '../shared/object-placer.js';
import { placeSymlinkSync } from '../shared/place.js';
import { Warnings } from '../shared/warnings.js';
import type { DigestInput } from '../shared/tree-digest.js';
import { Kind, type EntryMeta, type TreeTotals } from '../../model/entry.js';
import { objectKeyOf, type ObjectKey } from '../../model/object-key.js';
import { DEFAULT_RACY_WINDOW_MS, encodeRecord, extraOf, extraParts, racyCutoffNs, settled, type StatFields } from '../../model/quick-check.js';
import { NO_XATTRS, encodeXattrs, xattrDigestOf, type Xattr } from '../../model/xattrs.js';
import { openFolderPath, readXattrs, xattrPathOf } from '../../store/xattrs.js';
import { NotARegularFile, readSourceFile, type ReadResult } from '../../store/blobfile.js';
import type { IngestResult } from '../../store/ingest-sync.js';
import type { IngestPool } from '../../store/ingest-pool.js';
import { asBuffer } from '../../util/buffers.js';
import { joinPath } from '../../util/paths.js';
import { isNetworkFileSystem } from '../../util/fs.js';
import { objectKeyString, objectPath } from '../../store/layout.js';
import type { TakeDurability } from './take-durability.js';
import type { Boundaries } from './boundaries.js';
import { Limiter } from '../../util/limit.js';
import { ErrnoError, errnoCode } from '../../errors.js';
import type { Lstat } from '../../util/fsat.js';

/** Re-read a file that changes while being read at most this many times. */
const MAX_READ_ATTEMPTS = 4;

/** The lstat fields a take uses: util/fsat.ts's Lstat, which fs.BigIntStats and a scan worker's result (FieldStat) both have. */
export type SourceStat = Lstat;

export interface WalkOptions {
  /** The source's top folder (as the user's paths name it; the walk itself goes through descriptors). */
  top: Buffer;
  /** How new objects are made durable (take-durability.ts). */
  durability: TakeDurability;
  checksum: boolean;
  startedNs: bigint;
  racyWindowMs?: number;
  /** True for a source path that must be left out (excludes); rel is relative to the source. */
  exclude?: (rel: Buffer, isDir: boolean) => boolean;
  /** Record extended attributes (take --xattrs; src/model/xattrs.ts). */
  xattrs?: boolean;
  /** Mount points and marker files (boundaries.ts). */
  boundaries?: Boundaries;
  /** A folder kept with its contents left out by a boundary: `why` says which. */
  onBoundary?: (rel: Buffer, why: string) => void;
  /** Progress: `files` files (default 1) of `bytes` bytes are in the snapshot. */
  onFile?: (bytes: number, files?: number) => void;
  /**
   * Test seams: run just before a source file is opened for reading; treat every source file
   * system as a network one (its clock is then not trusted: see recordFor).
   */
  hooks?: { beforeRead?: (abs: Buffer) => Promise<void> | void; networkSource?: boolean };
}

export interface FolderResult {
  tree: number;
  digest: Buffer;
  totals: TreeTotals;
  /** With --xattrs: the folder's own attributes, when it has any. */
  xattrs?: RecordedXattrs;
}

/** A file's or folder's recorded attribute set, stored in the catalog: its digest and the set. */
export interface RecordedXattrs {
  digest: Buffer;
  set: Xattr[];
}

/** An entry's `xattrs` field: absent for none (so entries without attributes stay as they were). */
export function xattrsField(digest: Buffer | undefined): { xattrs?: Buffer } {
  return digest && digest.length > 0 ? { xattrs: digest } : {};
}

export interface WalkCounters {
  hashedFiles: number;
  hashedBytes: number;
  reusedFiles: number;
  symlinks: number;
}

/** One entry of a folder being built: its tree input and its new quick-check record, if any. */
export interface Placed {
  input: DigestInput & { totals?: TreeTotals };
  /** The record to remember; undefined when the entry must be looked at again next time. */
  record?: Buffer;
}

/** Where one entry is: in the source, in the folder being built, and relative to the source. */
export interface EntryAt {
  src: Buffer;
  dest: Buffer;
  rel: Buffer;
  name: Buffer;
}

export function metaOf(st: Pick<SourceStat, 'mode' | 'uid' | 'gid' | 'mtimeNs'>): EntryMeta {
  return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs };
}

function sameStat(a: StatFields, b: StatFields): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino && a.dev === b.dev;
}

export class SourceWalker {
  readonly placer: ObjectPlacer;
  readonly warnings = new Warnings();
  readonly counters: WalkCounters = { hashedFiles: 0, hashedBytes: 0, reusedFiles: 0, symlinks: 0 };
  /** Careful-path reads on the thread pool at once. */
  readonly limiter = new Limiter(16);
  /** Folders being walked right now (folder-walk.ts bounds it). */
  dirsInFlight = 0;
  private readonly racyWindowMs: number;
  private readonly racyCutoff: bigint;
  /**
   * Per source file system (device): whether its timestamps come from another machine's clock
   * (a network file system), and the newest timestamp seen on it so far.
   */
  private readonly remoteClock = new Map<bigint, boolean>();
  /** Objects this take found damaged and replaced from the source: objectName → the key and the source path that showed it. */
  readonly damaged = new Map<string, { key: ObjectKey; rel: Buffer }>();
  private readonly newestSeen = new Map<bigint, bigint>();
  /** The device of `.latest` itself: with --one-file-system, folders on others are not entered. */
  topDev: bigint | undefined;

  constructor(
    readonly root: Root,
    readonly pool: IngestPool,
    readonly opts: WalkOptions,
  ) {
    this.placer = new ObjectPlacer(root, opts.checksum, opts.durability);
    this.racyWindowMs = opts.racyWindowMs ?? DEFAULT_RACY_WINDOW_MS;
    this.racyCutoff = racyCutoffNs(opts.startedNs, this.racyWindowMs);
  }

  /** True for a folder a --one-file-system take keeps empty: it is on another file system than `.latest`. */
  leavesFileSystem(dev: bigint): boolean {
    return this.opts.boundaries?.oneFileSystem === true && this.topDev !== undefined && dev !== this.topDev;
  }

  /** Learn what kind of file system an open source folder is on (once per device). */
  noteFileSystem(dev: bigint, openFolder: Buffer): void {
    if (!this.remoteClock.has(dev)) this.remoteClock.set(dev, this.opts.hooks?.networkSource === true || isNetworkFileSystem(openFolder));
  }

  /**
   * The quick-check record of an entry, or undefined when it changed too recently to be trusted
   * next time (the racy window, src/model/quick-check.ts): it is looked at again.
   *
   * The window is anchored on the clock that stamped the entry. A local file system uses this
   * machine's clock. A network file system's server stamps its own times, and its clock may run
   * behind ours; so there the window also ends before the newest timestamp seen on that file
   * system so far (which its clock has certainly reached). The cost: on a network file system
   * the most recently changed entries are read again at every take.
   */
  recordFor(kind: Kind, name: Buffer, st: StatFields, meta: EntryMeta, extra: Buffer): Buffer | undefined {
    let cutoff = this.racyCutoff;
    if (this.remoteClock.get(st.dev)) {
      const seen = st.mtimeNs > st.ctimeNs ? st.mtimeNs : st.ctimeNs;
      const newest = this.newestSeen.get(st.dev);
      const anchor = newest === undefined || seen > newest ? seen : newest;
      this.newestSeen.set(st.dev, anchor);
      const remote = racyCutoffNs(anchor, this.racyWindowMs);
      if (remote < cutoff) cutoff = remote;
    }
    if (!settled(st, cutoff)) return undefined;
    return encodeRecord({ kind, name, ...meta, dev: st.dev, ino: st.ino, size: st.size, ctimeNs: st.ctimeNs, extra });
  }

  private noteDamaged(key: ObjectKey, rel: Buffer): void {
    const name = objectKeyString(key);
    if (!this.damaged.has(name)) this.damaged.set(name, { key, rel });
  }

  /** Record an entry that vanished, became unreadable or was swapped while being read; rethrow anything else. */
  skipOnRace(e: unknown, rel: Buffer, goneWhy = 'gone before it could be read'): undefined {
    const code = errnoCode(e);
    if (code === 'ENOENT') this.warnings.add('vanished', rel, goneWhy);
    else if (code === 'EACCES' || code === 'EPERM') this.warnings.add('unreadable', rel, `skipped: ${code}`);
    else if (code === 'EINVAL' || code === 'ELOOP' || e instanceof NotARegularFile) this.warnings.add('vanished', rel, 'replaced by something else while being read');
    else throw e;
    return undefined;
  }

  /** A symlink, kept as a symlink; `knownTarget` comes from its record when that still holds. */
  symlink(at: EntryAt, st: SourceStat, knownTarget: Buffer | undefined): Placed | undefined {
    let target = knownTarget;
    if (!target) {
      try {
        target = fs.readlinkSync(at.src, { encoding: 'buffer' });
      } catch (e) {
        return this.skipOnRace(e, at.rel);
      }
    }
    const meta = metaOf(st);
    placeSymlinkSync(target, at.dest, meta, this.root.asRoot);
    this.counters.symlinks++;
    return {
      input: { entry: { name: at.name, kind: Kind.Symlink, ...meta, size: target.length, target } },
      record: this.recordFor(Kind.Symlink, at.name, st, meta, target),
    };
  }

  /** FIFOs, sockets and devices are not stored: a warning every time, and no entry. */
  special(at: EntryAt, st: SourceStat): undefined {
    const what = st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : st.isCharacterDevice() ? 'character device' : 'block device';
    this.warnings.add('special', at.rel, `${what} not stored`);
    return undefined;
  }

  /** Put a set read from the source into the catalog (the empty set is not stored); its digest. */
  private recordXattrs(encoded: Buffer): Buffer {
    const digest = xattrDigestOf(encoded);
    this.root.catalog.putXattrSet(digest, encoded);
    return digest;
  }

  /** The recorded attributes of an open source folder (through its descriptor: no name lookup). */
  folderXattrs(fd: number): RecordedXattrs | undefined {
    if (!this.opts.xattrs) return undefined;
    const set = readXattrs(openFolderPath(fd), this.root.asRoot);
    return set.length > 0 ? { digest: this.recordXattrs(encodeXattrs(set)), set } : undefined;
  }

  /**
   * The attribute digest of a source file just read (main thread), or undefined when it was
   * replaced meanwhile. A name the binding cannot take (not valid UTF-8) gets none, with a warning.
   */
  private fileXattrs(at: EntryAt, read: Pick<SourceStat, 'dev' | 'ino'>): Buffer | undefined {
    const p = xattrPathOf(path.dirname(at.src.toString('latin1')), at.name);
    if (p === undefined) {
      this.warnings.add('xattrs', at.rel, 'extended attributes not recorded: the name is not valid UTF-8, which the attribute module cannot pass');
      return NO_XATTRS;
    }
    const encoded = encodeXattrs(readXattrs(p, this.root.asRoot));
    const named = this.lstatSync(at.src, at.rel);
    if (!named || named.ino !== read.ino || named.dev !== read.dev) return this.skipOnRace(new NotARegularFile(), at.rel);
    return this.recordXattrs(encoded);
  }

  /** Fold one ingest worker result into the catalog (objects row, entry, record). */
  async ingested(at: EntryAt, st: SourceStat, r: IngestResult): Promise<Placed | undefined> {
    if (r.status === 'slow') return this.limiter.run(() => this.file(at, st, undefined));
    if (r.status === 'error') return this.skipOnRace(new ErrnoError(r.code, `${r.code}: cannot read the file`), at.rel);
    const meta = { mode: r.mode, uid: r.uid, gid: r.gid, mtimeNs: r.mtimeNs };
    const hash = asBuffer(r.hash);
    const xattrs = asBuffer(r.xattrs);
    if (xattrs.length > 0) this.root.catalog.putXattrSet(xattrs, asBuffer(r.xattrSet));
    const key = objectKeyOf(hash, { ...meta, xattrs });
    this.root.catalog.ensureObject(key, r.size);
    if (r.created) {
      this.opts.durability.published(objectPath(this.root.layout, key), r.size);
      this.placer.newObjects++;
      this.placer.newBytes += r.size;
    }
    if (r.damaged) this.noteDamaged(key, at.rel);
    if (!r.linked) await this.placer.link(key, at.dest); // link limit: replicas
    if (r.changing) this.warnings.add('changing', at.rel, `kept changing while being read; stored the last version read`);
    this.counters.hashedFiles++;
    this.counters.hashedBytes += r.size;
    this.opts.onFile?.(r.size);
    const seen = { dev: r.dev, ino: r.ino, size: BigInt(r.size), mtimeNs: r.mtimeNs, ctimeNs: r.ctimeNs };
    return {
      input: { entry: { name: at.name, kind: Kind.File, ...meta, size: r.size, hash, ...xattrsField(xattrs) } },
      record: r.changing ? undefined : this.recordFor(Kind.File, at.name, seen, meta, extraOf(hash, xattrs)),
    };
  }

  /**
   * A regular file on the main thread (large, or one the scan worker could not link). With
   * `known` (its record's extra: hash, and attribute digest if any) the quick check vouched for
   * its content and attributes, so it is only linked.
   */
  async file(at: EntryAt, st: SourceStat, known: Buffer | undefined): Promise<Placed | undefined> {
    let meta = metaOf(st);
    let hash: Buffer;
    let xattrs: Buffer | undefined;
    let size: number;
    let seen: StatFields = st;
    let changing = false;
    if (known && !this.opts.checksum) {
      ({ id: hash, xattrs } = extraParts(known));
      size = Number(st.size);
      this.counters.reusedFiles++;
    } else {
      const read = await this.readStable(at, st);
      if (!read) return undefined;
      if (this.opts.xattrs) {
        xattrs = this.fileXattrs(at, read.before);
        if (!xattrs) return this.discard(read).then(() => undefined);
      }
      hash = read.hash;
      size = read.size;
      meta = metaOf(read.before);
      seen = read.before;
      changing = read.changing;
      const k = objectKeyOf(hash, { ...meta, xattrs });
      if (await this.placer.ensure(k, size, read as ContentSource)) this.noteDamaged(k, at.rel);
      this.counters.hashedFiles++;
      this.counters.hashedBytes += size;
    }
    const key = objectKeyOf(hash, { ...meta, xattrs });
    try {
      await this.placer.link(key, at.dest);
    } catch (e) {
      if (!(e instanceof ObjectMissing) && !(e instanceof ObjectDamaged)) throw e;
      // The store lost this object (deleted by hand?) or it no longer is what its name says
      // (edited in place through a dated folder?): rebuild it from the source if that still has
      // the same content, else store what the source has now. A damaged one is moved aside.
      if (e instanceof ObjectDamaged) {
        this.placer.quarantine(key);
        this.noteDamaged(key, at.rel);
      }
      const read = await this.readStable(at, st);
      if (!read) return undefined;
      const nowXattrs = this.opts.xattrs ? this.fileXattrs(at, read.before) : undefined;
      if (!read.hash.equals(hash) || !(nowXattrs ?? NO_XATTRS).equals(xattrs ?? NO_XATTRS)) {
        await this.discard(read);
        return this.file(at, st, undefined);
      }
      await this.placer.ensure(key, size, read as ContentSource, true);
      await this.placer.link(key, at.dest);
    }
    this.opts.onFile?.(size);
    return {
      input: { entry: { name: at.name, kind: Kind.File, ...meta, size, hash, ...xattrsField(xattrs) } },
      record: changing ? undefined : this.recordFor(Kind.File, at.name, seen, meta, extraOf(hash, xattrs)),
    };
  }

  private async discard(read: ReadResult): Promise<void> {
    if (read.tmpPath) await fsp.rm(read.tmpPath, { force: true });
  }

  private lstatSync(abs: Buffer, rel: Buffer): fs.BigIntStats | undefined {
    try {
      return fs.lstatSync(abs, { bigint: true });
    } catch (e) {
      this.skipOnRace(e, rel, 'listed but gone before it could be read');
      return undefined;
    }
  }

  /**
   * Read until two fstat()s around the read agree (size, mtime, ctime): then the bytes are one
   * version of the file. A file that never settles is stored as last read, with a warning; the
   * blob always matches its hash because we hash exactly the bytes we store.
   */
  private async readStable(at: EntryAt, st: SourceStat): Promise<(ReadResult & { changing: boolean }) | undefined> {
    let expect = { dev: st.dev, ino: st.ino };
    for (let attempt = 1; ; attempt++) {
      let read: ReadResult;
      try {
        await this.opts.hooks?.beforeRead?.(joinPath(this.opts.top, at.rel));
        read = await readSourceFile(at.src, expect, this.root.layout.tmp, true);
      } catch (e) {
        if (e instanceof NotARegularFile && attempt < MAX_READ_ATTEMPTS) {
          // Replaced by a new file (a sync tool's rename): read the new one if it is a file.
          const again = this.lstatSync(at.src, at.rel);
          if (!again) return undefined;
          if (!again.isFile()) return this.skipOnRace(e, at.rel);
          expect = { dev: again.dev, ino: again.ino };
          continue;
        }
        return this.skipOnRace(e, at.rel);
      }
      if (sameStat(read.before, read.after) && BigInt(read.size) === read.after.size) return { ...read, changing: false };
      if (attempt >= MAX_READ_ATTEMPTS) {
        this.warnings.add('changing', at.rel, `kept changing while being read (${attempt} attempts); stored the last version read`);
        return { ...read, changing: true };
      }
      await this.discard(read);
    }
  }
}

/**
 * One folder of a take (run() reads top to bottom):
 *
 *   scan     a worker opens the folder (without following symlinks, and only if it is still the
 *            inode its parent saw), lists it and — when it is small — lstats every entry and
 *            links each unchanged file (src/store/source-scan.ts);
 *   chunks   the entries, in name order, a chunk at a time (the whole folder when small, 4,096
 *            names of a big one, each scanned by a worker with exactly the records of its range):
 *            classify, ingest, descend, record (folder-chunk.ts);
 *   tree     the chunks become the folder's tree and its new quick-check records, reused as is
 *            when nothing changed (tree-writer.ts).
 *
 * Memory holds one chunk per folder in flight (and a bounded number of folders in flight),
 * never a whole big folder or the whole tree. The folder's descriptor stays open until the
 * folder is done: its files, symlinks and subfolders are all reached through it.
 */
import fs from 'node:fs';
import { testLinkLimitActive } from '../shared/object-placer.js';
import { FolderChunk, type ChunkHome } from './folder-chunk.js';
import { TreeWriter, type NameRange } from './tree-writer.js';
import type { FolderResult, SourceWalker } from './walker.js';
import { recordsInRange } from '../../model/quick-check.js';
import { SCAN_CHUNK, type EntriesScan, type FolderToOpen } from '../../store/source-scan.js';
import { fdPath } from '../../util/fsat.js';
import { chunkOffsets, nameAt } from '../../util/name-list.js';
import { joinPath } from '../../util/paths.js';
import { asBuffer } from '../../util/buffers.js';
import { ErrnoError } from '../../errors.js';

/** A subfolder that cannot be opened for these reasons is skipped with a warning. */
const SKIPPABLE: Record<string, 'vanished' | 'unreadable' | 'swapped'> = {
  ENOENT: 'vanished',
  ENOTDIR: 'swapped',
  ELOOP: 'swapped',
  SWAPPED: 'swapped',
  EACCES: 'unreadable',
  EPERM: 'unreadable',
};

export class FolderWalk {
  /** Walk the source's top folder `src` (which must be the inode `expect`) into the empty staging folder `dest`. */
  static walkSource(w: SourceWalker, src: Buffer, expect: { dev: bigint; ino: bigint }, dest: Buffer): Promise<FolderResult> {
    w.topDev = expect.dev;
    return new FolderWalk(w, { name: src, expect }, Buffer.alloc(0), dest).run();
  }

  private constructor(
    private readonly w: SourceWalker,
    private readonly folder: FolderToOpen,
    private readonly rel: Buffer,
    private readonly dest: Buffer,
  ) {}

  async run(): Promise<FolderResult> {
    const { w, rel } = this;
    const { catalog } = w.root;
    const row = w.opts.checksum ? undefined : catalog.quickCheck(rel);
    const single = row && row.parts === 1 ? row.records : undefined;
    const link = { stageDir: this.dest, objectsDir: w.root.layout.objects, link: !testLinkLimitActive(), owners: w.root.asRoot, xattrs: w.opts.xattrs === true };
    const opened = await w.pool.scan({ ...link, folder: this.folder, records: single, chunked: row !== undefined && row.parts > 1, markers: w.opts.boundaries?.markers });
    if ('error' in opened) return this.skipped(opened.error);
    if ('marker' in opened && opened.marker) w.opts.onBoundary?.(rel, `holds ${asBuffer(opened.marker).toString()}: only that file kept`);
    const fd = opened.fd;
    /** A chunk scan still running in a worker: it uses `fd`, which must outlive it. */
    let prefetched: Promise<unknown> = Promise.resolve();
    try {
      w.noteFileSystem(this.folder.expect.dev, fdPath(fd));
      const home: ChunkHome = {
        fd,
        rel,
        dest: this.dest,
        walkSubfolder: (name, st) => {
          const sub = new FolderWalk(w, { parentFd: fd, name, expect: st }, joinPath(rel, name), joinPath(this.dest, name));
          return w.leavesFileSystem(st.dev) ? Promise.resolve(sub.mountPoint()) : sub.run();
        },
      };
      const tree = new TreeWriter(catalog, rel, row?.digest);
      const unrecorded = row === undefined;
      if ('scan' in opened) {
        await this.chunk(tree, home, { lo: undefined, hi: undefined }, single, opened.scan, unrecorded);
      } else {
        // A big folder: a chunk of names at a time, each with exactly the records of its range.
        const names = asBuffer(opened.names); // a worker's reply arrives as a plain Uint8Array
        const offs = chunkOffsets(names, SCAN_CHUNK);
        const scanOf = (c: number) => {
          // A copy, not a view: a message carries a view's whole underlying buffer (all the names).
          const chunkNames = Buffer.from(names.subarray(offs[c]!, offs[c + 1]!));
          const range: NameRange = { lo: c === 0 ? undefined : nameAt(names, offs[c]!), hi: c + 2 === offs.length ? undefined : nameAt(names, offs[c + 1]!) };
          const records = row ? recordsInRange(catalog.quickCheckParts(rel, range.lo, range.hi), range.lo, range.hi) : undefined;
          const scan = w.pool.scanChunk({ ...link, fd, names: chunkNames, records });
          scan.catch(() => {}); // surfaced when awaited below
          prefetched = scan;
          return { range, records, scan };
        };
        // The next chunk is scanned (by the other worker) while this one is decided.
        let next = scanOf(0);
        for (let c = 0; c + 1 < offs.length; c++) {
          const { range, records, scan } = next;
          if (c + 2 < offs.length) next = scanOf(c + 1);
          await this.chunk(tree, home, range, records, await scan, unrecorded);
        }
      }
      return { ...tree.finish(), xattrs: w.folderXattrs(fd) };
    } finally {
      await Promise.allSettled([prefetched]);
      fs.closeSync(fd);
    }
  }

  private async chunk(tree: TreeWriter, home: ChunkHome, range: NameRange, records: Buffer | undefined, scan: EntriesScan, unrecorded: boolean): Promise<void> {
    const chunk = new FolderChunk(this.w, home, records, scan, unrecorded);
    await chunk.process();
    tree.add(range, chunk.changed, () => chunk.entries());
  }

  /**
   * A subfolder that could not be opened: vanished, unreadable, or no longer the folder its
   * parent saw (swapped for a symlink or another folder: never entered). It is skipped with a
   * warning, and its records and those below it are dropped: they vouch for nothing now.
   */
  private skipped(code: string): FolderResult {
    const { w, rel } = this;
    const kind = SKIPPABLE[code];
    if (rel.length === 0 || !kind) throw new ErrnoError(code, `${code}: cannot open ${rel.length === 0 ? this.folder.name.toString() : rel.toString()}`);
    if (kind === 'swapped') w.warnings.add('vanished', rel, 'replaced by something else while being read; skipped');
    else w.warnings.add(kind, rel, `folder contents skipped: ${code}`);
    return this.empty();
  }

  /** A folder on another file system, with --one-file-system: kept, empty, as `rsync -x` does. */
  mountPoint(): FolderResult {
    this.w.opts.onBoundary?.(this.rel, 'another file system: kept as an empty folder');
    return this.empty();
  }

  /** The folder as an empty one; the records below it vouch for nothing now. */
  private empty(): FolderResult {
    const { w, rel } = this;
    w.root.catalog.dropQuickCheckBelow(rel);
    const tree = new TreeWriter(w.root.catalog, rel, undefined);
    tree.add({ lo: undefined, hi: undefined }, true, () => []);
    return tree.finish();
  }
}


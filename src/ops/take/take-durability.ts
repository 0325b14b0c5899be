/**
 * What a take makes durable before its commit, and how (the argument: docs/guarantees.md,
 * "Power loss"). The snapshot is its catalog rows and its objects; the dated folder is a view
 * of them, rebuilt after a reboot if it may have lost entries (shared/recover.ts). So a take
 * flushes only what it wrote, once, right before the commit:
 *
 *   - new objects are published unflushed, like every object of a take that has not committed:
 *     the store is marked dirty before the first one (shared/dirty.ts), so after a power cut the
 *     next run sweeps whatever the catalog does not know, torn files included, before it links
 *     anything;
 *   - before the commit, either one syncfs of the store's file system — when the machine holds
 *     little unwritten data besides this take's own (a syncfs then costs what the fsyncs would,
 *     in one journal commit instead of one per object: about 0.1 s against 0.8 s for 1,500 new
 *     files on this project's test disk), or past FSYNC_LIMIT new objects — or an fsync of each
 *     new object, several at once so the file system batches their journal commits, then the
 *     fan-out folders that got their names. The second choice keeps a take from waiting for
 *     another process's gigabytes of unwritten data;
 *   - a take that wrote nothing flushes nothing but SQLite's own commit.
 */
import path from 'node:path';
import type { PublishDurability } from '../shared/object-placer.js';
import type { StoreLayout } from '../../store/layout.js';
import { bootId, fsyncDir, fsyncFile, syncFileSystem, unwrittenBytes } from '../../store/durability.js';
import { forEachConcurrently } from '../../util/limit.js';
import { trace } from '../../util/trace.js';

/** New objects past which one flush of the file system is used whatever else is unwritten. */
const FSYNC_LIMIT = process.env.LINKSNAP_TEST_FSYNC_LIMIT !== undefined ? Number(process.env.LINKSNAP_TEST_FSYNC_LIMIT) : 2000;
/** Unwritten data of others that a syncfs may wait for, beside the take's own. */
const OTHERS_UNWRITTEN_LIMIT = 64 * 2 ** 20;
/** fsyncs in flight (Node's thread pool runs four file operations at once). */
const FSYNC_CONCURRENCY = 8;

export class TakeDurability implements PublishDurability {
  /** New objects not yet flushed, up to FSYNC_LIMIT (past it, one syncfs covers them all). */
  private readonly unflushed: string[] = [];
  private newObjects = 0;
  private newBytes = 0;
  private readonly fans = new Set<string>();

  constructor(private readonly layout: StoreLayout) {}

  /** An object of `size` bytes was published under `objPath` (by this thread or a worker). */
  published(objPath: string, size: number): void {
    this.newObjects++;
    this.newBytes += size;
    if (this.newObjects <= FSYNC_LIMIT) this.unflushed.push(objPath);
    this.fans.add(path.dirname(objPath));
  }

  async beforePublish(_tmp: string, objPath: string, size: number): Promise<void> {
    this.published(objPath, size);
  }

  /**
   * Make the new objects durable before the commit. 'everything' when the whole file system was
   * flushed — the dated folder then is on disk too (and every older one): also the case where
   * this machine's boot cannot be told, so no folder can be left to a later check.
   */
  async flush(): Promise<'objects' | 'everything'> {
    if (bootId() === undefined || (this.newObjects > 0 && this.oneFlushIsCheaper())) {
      await syncFileSystem(this.layout.store);
      return 'everything';
    }
    await forEachConcurrently(this.unflushed, FSYNC_CONCURRENCY, fsyncFile);
    await forEachConcurrently([...this.fans], FSYNC_CONCURRENCY, fsyncDir);
    if (this.fans.size > 0) await fsyncDir(this.layout.objects); // a fan-out folder may be new
    trace('flush-objects');
    return 'objects';
  }

  private oneFlushIsCheaper(): boolean {
    if (this.newObjects > FSYNC_LIMIT) return true;
    const unwritten = unwrittenBytes();
    return unwritten !== undefined && unwritten <= this.newBytes + OTHERS_UNWRITTEN_LIMIT;
  }
}

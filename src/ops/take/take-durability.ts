/**
 * What a take makes durable before its commit, and how (the argument: docs/guarantees.md,
 * "Power loss"). The snapshot is its catalog rows and its objects; the dated folder is a view
 * of them, rebuilt after a reboot if it may have lost entries (shared/recover.ts). So a take
 * flushes only what it wrote:
 *
 *   - each new object is fsynced before its name is published (by the ingest workers, two at a
 *     time, so the file system batches their journal commits), and the fan-out folders that got
 *     new names are fsynced before the commit;
 *   - past FSYNC_LIMIT new objects, one syncfs of the store's file system is cheaper than the
 *     rest of the fsyncs (measured: docs/benchmarks.md), and the rest go unflushed until it;
 *   - a take that wrote nothing flushes nothing but SQLite's own commit.
 */
import path from 'node:path';
import type { PublishDurability } from '../shared/object-placer.js';
import type { StoreLayout } from '../../store/layout.js';
import { bootId, fsyncDir, fsyncFile, syncFileSystem } from '../../store/durability.js';
import { trace } from '../../util/trace.js';

/** New objects fsynced one by one before a take switches to one flush of the file system. */
const FSYNC_LIMIT = process.env.LINKSNAP_TEST_FSYNC_LIMIT !== undefined ? Number(process.env.LINKSNAP_TEST_FSYNC_LIMIT) : 2000;

export class TakeDurability implements PublishDurability {
  private newObjects = 0;
  private readonly fans = new Set<string>();
  private wholeFileSystem = false;

  constructor(private readonly layout: StoreLayout) {}

  /** Whether the objects written next are fsynced one by one (else the final syncfs covers them). */
  fsyncEach(): boolean {
    if (this.newObjects >= FSYNC_LIMIT) this.wholeFileSystem = true;
    return !this.wholeFileSystem;
  }

  /** An object was published under `objPath` (by this thread or a worker). */
  published(objPath: string): void {
    this.newObjects++;
    this.fans.add(path.dirname(objPath));
  }

  async beforePublish(tmp: string, objPath: string): Promise<void> {
    if (this.fsyncEach()) await fsyncFile(tmp);
    this.published(objPath);
  }

  /**
   * Make the new objects' names durable before the commit. 'everything' when the whole file
   * system was flushed — the dated folder then is on disk too (and every older one): also the
   * case where this machine's boot cannot be told, so no folder can be left to a later check.
   */
  async flush(): Promise<'objects' | 'everything'> {
    if (this.wholeFileSystem || bootId() === undefined) {
      await syncFileSystem(this.layout.store);
      return 'everything';
    }
    for (const fan of this.fans) await fsyncDir(fan);
    if (this.fans.size > 0) await fsyncDir(this.layout.objects); // a fan-out folder may be new
    trace('flush-objects');
    return 'objects';
  }
}

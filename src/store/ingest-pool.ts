/**
 * A small pool of worker threads running folder scans (source-scan.ts) and ingestBatch
 * (ingest-sync.ts), so a take uses both cores: the main thread decides and writes the catalog
 * while the workers list, lstat, link, read, hash and publish. Workers are started on first use
 * and stopped with close().
 *
 * The worker script is the compiled dist/store/ingest-worker.js; when this module runs from the
 * TypeScript sources (tests), it is found in dist/ too, so `npm test` builds first.
 * LINKSNAP_INGEST_WORKERS=0 runs batches on the main thread instead.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ErrnoError } from '../errors.js';
import { ingestBatch, type IngestBatch, type IngestResult } from './ingest-sync.js';
import { scanDir, type ScanResult, type ScanTask } from './source-scan.js';

function workerScript(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('../../dist/store/ingest-worker.js', here);
  return new URL('./ingest-worker.js', here);
}

/** Folder scans per message: few enough that both workers get a share of a folder's subfolders. */
const SCANS_PER_MESSAGE = 8;

interface Pending {
  resolve: (r: never) => void;
  reject: (e: Error) => void;
}

export class IngestPool {
  private workers: Worker[] = [];
  private readonly busy: number[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly size: number;

  constructor() {
    const env = process.env.LINKSNAP_INGEST_WORKERS;
    const wanted = env !== undefined ? Number(env) : Math.min(2, os.availableParallelism());
    this.size = fs.existsSync(fileURLToPath(workerScript())) ? Math.max(0, wanted) : 0;
  }

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      // A worker holds one batch at a time (at most 64 files of up to 1 MiB): a small heap limit
      // makes V8 collect its garbage early instead of growing the process.
      const w = new Worker(workerScript(), { resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 } });
      w.unref();
      w.on('message', (m: { id: number; results?: IngestResult[]; scans?: ScanResult[]; fatal?: { code: string; message: string } }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        this.busy[i]!--;
        if (!p) return;
        if (m.fatal) p.reject(new ErrnoError(m.fatal.code, m.fatal.message));
        else p.resolve((m.results ?? m.scans) as never);
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      this.workers.push(w);
      this.busy.push(0);
    }
  }

  run(batch: IngestBatch): Promise<IngestResult[]> {
    if (this.size === 0) {
      const r = ingestBatch(batch);
      if ('fatal' in r) return Promise.reject(new ErrnoError(r.fatal.code, r.fatal.message));
      return Promise.resolve(r.results);
    }
    return this.post<IngestResult[]>({ batch });
  }

  /**
   * List and lstat a source folder, linking its unchanged files (source-scan.ts). Scans asked
   * for in the same tick (the subfolders of one folder) travel together, a few per message: a
   * no-change take is 5,000 small folders, and a message each way per folder cost as much as
   * the scans of the small ones.
   */
  scan(task: ScanTask): Promise<ScanResult> {
    if (this.size === 0) return Promise.resolve(scanDir(task));
    return new Promise((resolve, reject) => {
      if (this.scanQueue.length === 0) queueMicrotask(() => this.flushScans());
      this.scanQueue.push({ task, resolve, reject });
    });
  }

  private scanQueue: { task: ScanTask; resolve: (r: ScanResult) => void; reject: (e: Error) => void }[] = [];

  private flushScans(): void {
    const queue = this.scanQueue;
    this.scanQueue = [];
    for (let i = 0; i < queue.length; i += SCANS_PER_MESSAGE) {
      const group = queue.slice(i, i + SCANS_PER_MESSAGE);
      this.post<ScanResult[]>({ scans: group.map((g) => g.task) }).then(
        (results) => group.forEach((g, k) => g.resolve(results[k]!)),
        (e: Error) => group.forEach((g) => g.reject(e)),
      );
    }
  }

  private post<T>(msg: { batch?: IngestBatch; scans?: ScanTask[] }): Promise<T> {
    if (this.workers.length === 0) this.start();
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i]! < this.busy[best]!) best = i;
    const id = this.nextId++;
    this.busy[best]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[best]!.postMessage({ id, ...msg });
    });
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

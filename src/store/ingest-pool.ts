/**
 * A small pool of worker threads running folder scans (source-scan.ts) and ingest batches
 * (ingest-sync.ts), so a take uses both cores: the main thread decides and writes the catalog
 * while the workers open, list, lstat, link, read, hash and publish. Workers are started on
 * first use and stopped with close().
 *
 * A worker that dies (out of memory, a bug) fails every request it held and every later one with
 * WorkerDied: the take then fails cleanly (rolled back, lock released, exit 70 naming the
 * cause) instead of waiting forever.
 *
 * The worker script is the compiled dist/store/ingest-worker.js; when this module runs from the
 * TypeScript sources (tests), it is found in dist/ too, so `npm test` builds first.
 * LINKSNAP_INGEST_WORKERS=0 runs everything on the main thread instead.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ErrnoError } from '../errors.js';
import { ingestBatch, type IngestBatch, type IngestResult } from './ingest-sync.js';
import { scanChunk, scanFolder, type ChunkTask, type EntriesScan, type ScanResult, type ScanTask } from './source-scan.js';
import type { WorkerRequest } from './ingest-worker.js';

function workerScript(): URL {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return new URL('../../dist/store/ingest-worker.js', here);
  return new URL('./ingest-worker.js', here);
}

/** Folder scans per message: few enough that both workers get a share of a folder's subfolders. */
const SCANS_PER_MESSAGE = 8;

/** A worker thread died: not a file-system error, a failure of linksnap's own machinery. */
export class WorkerDied extends Error {
  constructor(cause: unknown) {
    super(`a worker thread died: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'WorkerDied';
  }
}

interface Pending {
  resolve: (r: never) => void;
  reject: (e: Error) => void;
}

interface WorkerReply {
  id: number;
  results?: IngestResult[];
  scans?: ScanResult[];
  chunk?: EntriesScan;
  fatal?: { code: string; message: string };
}

export class IngestPool {
  private workers: Worker[] = [];
  private readonly busy: number[] = [];
  /** Requests in flight, per worker. */
  private readonly pending: Map<number, Pending>[] = [];
  private nextId = 1;
  private readonly size: number;
  private died: WorkerDied | undefined;
  private closing = false;

  constructor() {
    const env = process.env.LINKSNAP_INGEST_WORKERS;
    const wanted = env !== undefined ? Number(env) : Math.min(2, os.availableParallelism());
    this.size = fs.existsSync(fileURLToPath(workerScript())) ? Math.max(0, wanted) : 0;
  }

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      // A worker holds one batch or chunk at a time (at most 64 files of up to 1 MiB, or 4,096
      // names): a small heap limit makes V8 collect its garbage early instead of growing.
      // trackUnmanagedFds off: a worker opens source folders whose descriptors the main thread
      // owns and closes; by default a worker closes the descriptors it opened when it exits,
      // which would close them a second time — by then possibly someone else's descriptor.
      const w = new Worker(workerScript(), {
        resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 },
        trackUnmanagedFds: false,
      });
      w.unref();
      const mine = new Map<number, Pending>();
      w.on('message', (m: WorkerReply) => {
        const p = mine.get(m.id);
        mine.delete(m.id);
        this.busy[i]!--;
        if (!p) return;
        if (m.fatal) p.reject(new ErrnoError(m.fatal.code, m.fatal.message));
        else p.resolve((m.results ?? m.scans ?? m.chunk) as never);
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`it exited with code ${code}`));
      });
      this.workers.push(w);
      this.busy.push(0);
      this.pending.push(mine);
    }
  }

  /** One worker died: fail everything in flight and everything asked for later. */
  private fail(cause: unknown): void {
    this.died ??= new WorkerDied(cause);
    for (const mine of this.pending) {
      for (const p of mine.values()) p.reject(this.died);
      mine.clear();
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
   * Open, list and scan a source folder (source-scan.ts). Scans asked for in the same tick (the
   * subfolders of one folder) travel together, a few per message: a no-change take is 5,000
   * small folders, and a message each way per folder cost as much as the scans of the small ones.
   */
  scan(task: ScanTask): Promise<ScanResult> {
    if (this.size === 0) return Promise.resolve(scanFolder(task));
    return new Promise((resolve, reject) => {
      if (this.scanQueue.length === 0) queueMicrotask(() => this.flushScans());
      this.scanQueue.push({ task, resolve, reject });
    });
  }

  /** Scan one chunk of a big folder. */
  scanChunk(task: ChunkTask): Promise<EntriesScan> {
    if (this.size === 0) return Promise.resolve(scanChunk(task));
    return this.post<EntriesScan>({ chunk: task });
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

  private post<T>(msg: Omit<WorkerRequest, 'id'>): Promise<T> {
    if (this.died) return Promise.reject(this.died);
    if (this.workers.length === 0) this.start();
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i]! < this.busy[best]!) best = i;
    const id = this.nextId++;
    this.busy[best]!++;
    return new Promise((resolve, reject) => {
      this.pending[best]!.set(id, { resolve, reject });
      this.workers[best]!.postMessage({ id, ...msg });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

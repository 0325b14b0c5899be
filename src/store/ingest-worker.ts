/** Worker-thread entry for the ingest pool: folder scans (source-scan.ts) and ingest batches (ingest-sync.ts). */
import { parentPort } from 'node:worker_threads';
import { ingestBatch, type IngestBatch } from './ingest-sync.js';
import { scanChunk, scanFolder, type ChunkTask, type ScanResult, type ScanTask } from './source-scan.js';
import { asBuffer } from '../util/buffers.js';

export interface WorkerRequest {
  id: number;
  batch?: IngestBatch;
  scans?: ScanTask[];
  chunk?: ChunkTask;
}

/**
 * Test seam (test/fault/worker-crash.test.ts): exhaust this worker's heap on its first message,
 * as a folder too big for it once did, to prove a dying worker fails the take cleanly.
 */
function exhaustHeapForTests(): void {
  const hog: unknown[] = [];
  for (;;) hog.push(new Array(1 << 16).fill({ hog }));
}

parentPort!.on('message', (msg: WorkerRequest) => {
  if (process.env.LINKSNAP_TEST_WORKER_OOM === '1') exhaustHeapForTests();
  if (msg.scans) {
    const scans: ScanResult[] = msg.scans.map((s) =>
      scanFolder({
        ...s,
        folder: { ...s.folder, name: asBuffer(s.folder.name) },
        stageDir: asBuffer(s.stageDir),
        records: s.records ? asBuffer(s.records) : undefined,
        markers: s.markers?.map((m) => ({ name: asBuffer(m.name), signature: m.signature && asBuffer(m.signature) })),
      }),
    );
    // A big folder's name list goes back without a copy.
    const transfer = scans.flatMap((r) => ('names' in r ? [r.names.buffer as ArrayBuffer] : []));
    parentPort!.postMessage({ id: msg.id, scans }, transfer);
    return;
  }
  if (msg.chunk) {
    const c = msg.chunk;
    const chunk = scanChunk({ ...c, names: asBuffer(c.names), stageDir: asBuffer(c.stageDir), records: c.records ? asBuffer(c.records) : undefined });
    parentPort!.postMessage({ id: msg.id, chunk });
    return;
  }
  const b = msg.batch!;
  const batch: IngestBatch = {
    ...b,
    srcDir: asBuffer(b.srcDir),
    stageDir: asBuffer(b.stageDir),
    files: b.files.map((f) => ({ ...f, name: asBuffer(f.name) })),
  };
  parentPort!.postMessage({ id: msg.id, ...ingestBatch(batch) });
});

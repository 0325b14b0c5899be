/** Worker-thread entry for the ingest pool: runs scanDir (source-scan.ts) or ingestBatch (ingest-sync.ts). */
import { parentPort } from 'node:worker_threads';
import { ingestBatch, type IngestBatch } from './ingest-sync.js';
import { scanDir, type ScanTask } from './source-scan.js';

/** Buffers arrive as Uint8Arrays through structured clone: view them as Buffers (no copy). */
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

parentPort!.on('message', (msg: { id: number; batch?: IngestBatch; scans?: ScanTask[] }) => {
  if (msg.scans) {
    const scans = msg.scans.map((s) => scanDir({ ...s, srcDir: buf(s.srcDir), stageDir: buf(s.stageDir), records: s.records ? buf(s.records) : undefined }));
    parentPort!.postMessage({ id: msg.id, scans });
    return;
  }
  const b = msg.batch!;
  const batch: IngestBatch = {
    ...b,
    srcDir: buf(b.srcDir),
    stageDir: buf(b.stageDir),
    files: b.files.map((f) => ({ ...f, name: buf(f.name) })),
  };
  parentPort!.postMessage({ id: msg.id, ...ingestBatch(batch) });
});
